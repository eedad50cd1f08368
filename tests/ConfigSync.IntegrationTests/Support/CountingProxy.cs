using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ConfigSync.IntegrationTests.Support;

/// <summary>
/// A plain HTTP forwarder (Kestrel + HttpClient) on 127.0.0.1 in front of a storage server: what the
/// server receives, counted where the server sees it. It forwards every request unchanged, the Host
/// header included, so SigV4 and SharedKey signatures still verify at the server behind it.
/// </summary>
public sealed class CountingProxy : IAsyncDisposable
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase) { "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Connection" };
    private readonly WebApplication _app;
    private readonly HttpClient _client = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, AutomaticDecompression = System.Net.DecompressionMethods.None });

    private readonly Lock _order = new();
    private int _throttledAnswers;

    private CountingProxy(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    public ConcurrentQueue<(string Method, string PathAndQuery)> Requests { get; } = new();

    /// <summary>The status of each answer given, in order of answering.</summary>
    public ConcurrentQueue<int> Statuses { get; } = new();

    /// <summary>When each request arrived (a monotonic clock), in order.</summary>
    public ConcurrentQueue<TimeSpan> Arrivals { get; } = new();

    /// <summary>While true, the proxy plays an origin that is down: every request is answered 503 without forwarding.</summary>
    public bool Down { get; set; }

    /// <summary>While set, the proxy plays an origin that throttles: every request gets this status, <c>Retry-After</c> (made at answer time; none when null) and body, without forwarding.</summary>
    public (int Status, Func<string?> RetryAfter, string Body)? Throttle { get; set; }

    /// <summary>Answers given by <see cref="Throttle"/>.</summary>
    public int ThrottledAnswers => Volatile.Read(ref _throttledAnswers);

    /// <summary>Each answer <see cref="Throttle"/> gave: when (the wall clock, to compare with the daemon's <c>/status</c>) and its request's <see cref="Arrivals"/> entry.</summary>
    public ConcurrentQueue<(DateTimeOffset At, TimeSpan Arrival)> ThrottledTimes { get; } = new();

    /// <summary>The monotonic clock <see cref="Arrivals"/> are read from.</summary>
    public System.Diagnostics.Stopwatch Clock { get; } = System.Diagnostics.Stopwatch.StartNew();

    /// <summary>Each request so far with its arrival (<see cref="Requests"/> and <see cref="Arrivals"/> read together).</summary>
    public List<(string Method, string PathAndQuery, TimeSpan Arrival)> Log()
    {
        lock (_order)
        {
            return [.. Requests.Zip(Arrivals, (r, a) => (r.Method, r.PathAndQuery, a))];
        }
    }

    /// <summary>Object and blob listings (S3 <c>list-type=2</c>, Azure <c>comp=list</c>).</summary>
    public int Lists => Requests.Count(r => r.Method == "GET" && IsList(r.PathAndQuery));

    /// <summary>Object and blob downloads.</summary>
    public int Gets => Requests.Count(r => r.Method == "GET" && !IsList(r.PathAndQuery));

    public static async Task<CountingProxy> StartAsync(string upstream)
    {
        var port = AppListener.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, port));
        var app = builder.Build();
        var proxy = new CountingProxy(app, port);
        var target = new Uri(upstream);
        app.Run(context => proxy.ForwardAsync(context, target));
        await app.StartAsync();
        return proxy;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _client.Dispose();
    }

    private static bool IsList(string pathAndQuery) =>
        pathAndQuery.Contains("list-type=", StringComparison.Ordinal) || pathAndQuery.Contains("comp=list", StringComparison.Ordinal);

    private async Task ForwardAsync(HttpContext context, Uri target)
    {
        var pathAndQuery = context.Request.Path + context.Request.QueryString;
        TimeSpan arrival;
        lock (_order)
        {
            // Requests[i] arrived at Arrivals[i], concurrent requests included.
            arrival = Clock.Elapsed;
            Requests.Enqueue((context.Request.Method, pathAndQuery.ToString()));
            Arrivals.Enqueue(arrival);
        }

        if (Down)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            Statuses.Enqueue(503);
            return;
        }

        if (Throttle is { } throttle)
        {
            Interlocked.Increment(ref _throttledAnswers);
            ThrottledTimes.Enqueue((DateTimeOffset.UtcNow, arrival));
            context.Response.StatusCode = throttle.Status;
            Statuses.Enqueue(throttle.Status);
            if (throttle.RetryAfter() is { } retryAfter)
            {
                context.Response.Headers.RetryAfter = retryAfter;
            }

            context.Response.ContentType = "application/xml";
            await context.Response.WriteAsync(throttle.Body, context.RequestAborted);
            return;
        }

        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), new Uri(target, pathAndQuery.ToString()));
        if (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            request.Content = new StreamContent(context.Request.Body);
        }

        foreach (var (name, value) in context.Request.Headers)
        {
            if (HopByHop.Contains(name))
            {
                continue;
            }

            if (!request.Headers.TryAddWithoutValidation(name, value.ToArray()))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, value.ToArray());
            }
        }

        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        context.Response.StatusCode = (int)response.StatusCode;
        Statuses.Enqueue((int)response.StatusCode);
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (!HopByHop.Contains(name))
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }

        await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
    }
}
