using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ConfigSync.Tests.TestSupport;

/// <summary>A real HTTP server on 127.0.0.1 standing in for the app: records every request and answers the programmed status codes.</summary>
public sealed class AppListener : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<int> _answers = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public AppListener()
    {
        Port = FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }

    public Uri Url => new($"http://127.0.0.1:{Port}/-/reload");

    public ConcurrentQueue<Received> Requests { get; } = new();

    /// <summary>Status codes answered in order; once used up, 200.</summary>
    public void AnswerNext(params int[] statuses)
    {
        foreach (var status in statuses)
        {
            _answers.Enqueue(status);
        }
    }

    /// <summary>The body answered for a path (for example the app's applied revision), or null for none.</summary>
    public Func<string, string?>? BodyFor { get; set; }

    /// <summary>Extra headers answered for a path (for example the app's applied revision in a header), or null for none.</summary>
    public Func<string, IReadOnlyDictionary<string, string>?>? HeadersFor { get; set; }

    /// <summary>Answer this status to every request until changed.</summary>
    public int DefaultStatus { get; set; } = 200;

    public async Task<Received> WaitForAsync(Func<Received, bool> match, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (Requests.FirstOrDefault(match) is { } found)
            {
                return found;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"no matching request within {timeout}; got {Requests.Count}: {string.Join(" | ", Requests.Select(r => r.Revision + " " + r.Status))}");
    }

    /// <summary>
    /// A port nothing listens on, for a server the test starts later. Not one the kernel would pick (port 0 hands out
    /// the ephemeral range, which is also where every outgoing connection takes its local port: a client could hold the
    /// port by the time the server binds it), and never the same twice in this process.
    /// </summary>
    public static int FreePort()
    {
        lock (HandedOut)
        {
            while (true)
            {
                var port = Random.Shared.Next(FreePorts.Low, FreePorts.High);
                if (!HandedOut.Add(port))
                {
                    continue;
                }

                try
                {
                    using var socket = new TcpListener(IPAddress.Loopback, port);
                    socket.Start();
                    return port;
                }
                catch (SocketException)
                {
                    // in use: another
                }
            }
        }
    }

    private static readonly HashSet<int> HandedOut = [];

    /// <summary>The ports below the kernel's ephemeral range (ip_local_port_range; 32768 by default), down to 12,000 of them.</summary>
    private static readonly (int Low, int High) FreePorts = Below(File.Exists(EphemeralRange) && int.TryParse(File.ReadAllText(EphemeralRange).Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[0], out var low) ? low : 32768);

    private const string EphemeralRange = "/proc/sys/net/ipv4/ip_local_port_range";

    private static (int Low, int High) Below(int ephemeral) => (Math.Max(10_000, ephemeral - 12_000), ephemeral);

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(2));
        }
        catch (AggregateException)
        {
        }
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpListenerException)
            {
                return;
            }

            try
            {
                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                var body = await reader.ReadToEndAsync();
                var status = _answers.TryDequeue(out var next) ? next : DefaultStatus;
                Requests.Enqueue(new Received(
                    context.Request.HttpMethod,
                    context.Request.Url!.AbsolutePath,
                    context.Request.Headers["ConfigSync-Sync"],
                    context.Request.Headers["ConfigSync-Revision"],
                    context.Request.ContentType,
                    context.Request.Headers["X-Custom"],
                    body,
                    status,
                    context.Request.Headers["Gitsync-Hash"]));
                context.Response.StatusCode = status;
                foreach (var (name, value) in HeadersFor?.Invoke(context.Request.Url!.AbsolutePath) ?? new Dictionary<string, string>())
                {
                    context.Response.Headers[name] = value;
                }

                if (BodyFor?.Invoke(context.Request.Url!.AbsolutePath) is { } answer)
                {
                    context.Response.ContentType = "application/json";
                    await context.Response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes(answer));
                }

                context.Response.Close();
            }
            catch (Exception e) when (e is IOException or HttpListenerException or ObjectDisposedException or InvalidOperationException && !_stop.IsCancellationRequested)
            {
                // The client went away mid-answer (a verify request past its timeout): the next request is still answered.
                // Before, this ended the loop, and every later signal waited out the sync's timeout unanswered.
                context.Response.Abort();
            }
        }
    }

    public sealed record Received(string Method, string Path, string? Sync, string? Revision, string? ContentType, string? Custom, string Body, int Status, string? GitsyncHash = null);
}
