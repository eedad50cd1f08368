using System.Collections.Concurrent;
using System.Net;
using System.Text;

namespace ConfigSync.IntegrationTests.Support;

/// <summary>
/// A real HTTP server on 127.0.0.1 standing in for a cloud credential service (AWS STS, the EKS Pod
/// Identity agent, the Azure token endpoint): records each request and answers with the given body.
/// </summary>
public sealed class CredentialEndpoint : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<Request, (string ContentType, string Body)> _answer;
    private readonly Task _loop;

    public CredentialEndpoint(Func<Request, (string ContentType, string Body)> answer)
    {
        _answer = answer;
        Port = AppListener.FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    public ConcurrentQueue<Request> Requests { get; } = new();

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            var request = new Request(
                context.Request.HttpMethod,
                context.Request.Url!.PathAndQuery,
                context.Request.Headers["Authorization"],
                await reader.ReadToEndAsync());
            Requests.Enqueue(request);
            var (contentType, body) = _answer(request);
            var bytes = Encoding.UTF8.GetBytes(body);
            context.Response.ContentType = contentType;
            context.Response.ContentLength64 = bytes.Length;
            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
        }
    }

    public sealed record Request(string Method, string PathAndQuery, string? Authorization, string Body);
}
