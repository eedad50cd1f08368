using ConfigSync.Configuration;
using ConfigSync.Diagnostics;
using ConfigSync.Sync;

namespace ConfigSync.Http;

/// <summary><c>POST /webhook/{name}</c>: a push from GitHub, GitLab or an HMAC sender queues a sync (coalesced with any other request).</summary>
internal sealed partial class WebhookEndpoint(SyncEngine engine, ILogger<WebhookEndpoint> logger)
{
    public async Task<IResult> HandleAsync(string name, HttpContext context)
    {
        if (engine.WebhookOf(name) is not { } settings)
        {
            // A caller from another host learns nothing of which names exist: it gets what a bad signature gets.
            // On loopback (the operator, a port-forward) the real reason helps more than it reveals.
            if (context.Connection.RemoteIpAddress is { } remote && !System.Net.IPAddress.IsLoopback(remote))
            {
                return Error(StatusCodes.Status401Unauthorized, "the request carries no signature this endpoint accepts");
            }

            return engine.Contains(name)
                ? Error(StatusCodes.Status404NotFound, $"sync '{name}' has no webhook; set syncs[].webhook.secretFile")
                : Error(StatusCodes.Status404NotFound, $"no sync named '{name}'");
        }

        var body = await ReadBodyAsync(context.Request, settings.MaxBodySize, context.RequestAborted);
        if (body is null)
        {
            Count(name, "too_large");
            return Error(StatusCodes.Status413PayloadTooLarge, $"the body is larger than webhook.maxBodySize ({settings.MaxBodySize} bytes)");
        }

        byte[] secret;
        try
        {
            var text = File.ReadAllText(settings.SecretFile).Trim();
            Diagnostics.Redact.Register(text);
            secret = System.Text.Encoding.UTF8.GetBytes(text);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogSecretUnreadable(logger, name, settings.SecretFile, e.Message);
            return Error(StatusCodes.Status500InternalServerError, "webhook.secretFile cannot be read; see the daemon's log");
        }

        if (secret.Length == 0)
        {
            LogSecretUnreadable(logger, name, settings.SecretFile, "the file is empty");
            return Error(StatusCodes.Status500InternalServerError, "webhook.secretFile is empty; see the daemon's log");
        }

        var outcome = WebhookVerifier.Check(settings, secret, context.Request.Headers, context.Request.ContentType, body, (pushed, branch) => engine.MatchesPush(name, pushed, branch));
        switch (outcome.Verdict)
        {
            case WebhookVerdict.Unauthorized:
                Count(name, "unauthorized");
                LogUnauthorized(logger, name, context.Connection.RemoteIpAddress?.ToString() ?? "?", outcome.Reason!);
                return Error(StatusCodes.Status401Unauthorized, outcome.Reason!);
            case WebhookVerdict.Invalid:
                Count(name, "invalid");
                return Error(StatusCodes.Status400BadRequest, outcome.Reason!);
            case WebhookVerdict.Ignored:
                Count(name, "ignored");
                LogIgnored(logger, name, outcome.Sender, outcome.Reason!);
                return Results.Json(new WebhookBody(name, Queued: false, outcome.Reason), StatusJsonContext.Default.WebhookBody, statusCode: StatusCodes.Status202Accepted);
            default:
                Count(name, "accepted");
                engine.RequestSync(name);
                LogAccepted(logger, name, outcome.Sender, outcome.Ref ?? "(no ref)");
                return Results.Json(new WebhookBody(name, Queued: true, null), StatusJsonContext.Default.WebhookBody, statusCode: StatusCodes.Status202Accepted);
        }
    }

    /// <summary>The body, or null when it is larger than <paramref name="limit"/> (read no further than that).</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static IResult Error(int status, string message) =>
        Results.Json(new ErrorBody(message), StatusJsonContext.Default.ErrorBody, statusCode: status);

    private void Count(string name, string result) => engine.Metrics.WebhookTotal.WithLabels(name, result).Inc();

    [LoggerMessage(Level = LogLevel.Information, Message = "{Sync}: {Sender} webhook for {Ref}; sync queued")]
    private static partial void LogAccepted(ILogger logger, string sync, string sender, string @ref);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Sync}: {Sender} webhook ignored: {Reason}")]
    private static partial void LogIgnored(ILogger logger, string sync, string sender, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Sync}: webhook from {Remote} refused: {Reason}")]
    private static partial void LogUnauthorized(ILogger logger, string sync, string remote, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Sync}: webhook.secretFile {File} cannot be used: {Reason}")]
    private static partial void LogSecretUnreadable(ILogger logger, string sync, string file, string reason);
}
