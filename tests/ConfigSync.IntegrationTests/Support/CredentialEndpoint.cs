using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ConfigSync.IntegrationTests.Support;

/// <summary>
/// A real HTTP(S) server (Kestrel) on 127.0.0.1 standing in for a cloud credential service (AWS STS,
/// the EKS Pod Identity agent, Microsoft Entra ID's token endpoint, a managed identity endpoint):
/// records each request and answers with the given body.
/// </summary>
public sealed class CredentialEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;

    private CredentialEndpoint(WebApplication app, int port, bool https)
    {
        _app = app;
        Port = port;
        Url = $"{(https ? "https" : "http")}://127.0.0.1:{port}";
    }

    public int Port { get; }

    public string Url { get; }

    public ConcurrentQueue<Request> Requests { get; } = new();

    public static async Task<CredentialEndpoint> StartAsync(Func<Request, (string ContentType, string Body)> answer, X509Certificate2? certificate = null)
    {
        var port = AppListener.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, port, o =>
        {
            if (certificate is not null)
            {
                o.UseHttps(certificate);
            }
        }));
        var app = builder.Build();
        var endpoint = new CredentialEndpoint(app, port, certificate is not null);
        app.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var request = new Request(
                context.Request.Method,
                context.Request.Path + context.Request.QueryString,
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
                await reader.ReadToEndAsync());
            endpoint.Requests.Enqueue(request);
            var (contentType, body) = answer(request);
            context.Response.ContentType = contentType;
            await context.Response.WriteAsync(body);
        });
        await app.StartAsync();
        return endpoint;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    public sealed record Request(string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, string Body)
    {
        public string? Authorization => Headers.GetValueOrDefault("Authorization");
    }
}
