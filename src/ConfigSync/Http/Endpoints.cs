using System.Text.Json;
using ConfigSync.Health;
using ConfigSync.Publishing;
using ConfigSync.Sync;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Prometheus;

namespace ConfigSync.Http;

/// <summary>The HTTP surface: health, readiness, metrics, status and triggers.</summary>
internal static class Endpoints
{
    public static void Map(WebApplication app, SyncEngine engine, TriggerAuthorization authorization, WebhookEndpoint webhooks)
    {
        app.MapPost("/webhook/{name}", (string name, HttpContext context) => webhooks.HandleAsync(name, context));

        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = c => c.Tags.Contains(LivenessCheck.Tag), ResponseWriter = WriteHealth });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadinessCheck.Tag), ResponseWriter = WriteHealth });

        app.MapGet("/metrics", async context =>
        {
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await engine.Metrics.Registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
        });

        app.MapGet("/status", () =>
        {
            var now = engine.Time.GetUtcNow();
            var document = new StatusDocument(engine.IsReady(now), engine.Statuses.ToDictionary(s => s.Name, StringComparer.Ordinal));
            return Results.Json(document, StatusJsonContext.Default.StatusDocument);
        });

        app.MapGet("/status/{name}", (string name) =>
        {
            var status = engine.Statuses.FirstOrDefault(s => s.Name == name);
            if (status is null)
            {
                return NotFound(name);
            }

            // A decrypted file's plaintext hash is not served: a short secret could be found from it by trying guesses.
            var manifest = status.Manifest is null ? null : Manifest.TryRead(status.Manifest)?.WithoutPlaintextHashes();
            return Results.Json(new SyncDocument(status, manifest), StatusJsonContext.Default.SyncDocument);
        });

        app.MapPost("/sync/{name}", (string name, HttpContext context) =>
        {
            // Authorization first: a caller without the right to trigger learns nothing of which names exist
            // (and an unknown name never becomes a metric label).
            var verdict = authorization.Check(context.Connection.RemoteIpAddress, context.Request.Headers.Authorization);
            var known = engine.Contains(name);
            if (known)
            {
                engine.Metrics.TriggerTotal.WithLabels(name, verdict switch
                {
                    StatusCodes.Status202Accepted => "accepted",
                    StatusCodes.Status401Unauthorized => "unauthorized",
                    _ => "forbidden",
                }).Inc();
            }

            if (verdict != StatusCodes.Status202Accepted)
            {
                var error = verdict == StatusCodes.Status401Unauthorized ? "a valid bearer token is required" : "triggers from other hosts need http.triggerTokenFile";
                return Results.Json(new ErrorBody(error), StatusJsonContext.Default.ErrorBody, statusCode: verdict);
            }

            if (!known)
            {
                return NotFound(name);
            }

            engine.RequestSync(name);
            return Results.Json(new TriggerBody(name, Queued: true), StatusJsonContext.Default.TriggerBody, statusCode: StatusCodes.Status202Accepted);
        });
    }

    private static Task WriteHealth(HttpContext context, Microsoft.Extensions.Diagnostics.HealthChecks.HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new HealthBody(report.Status.ToString().ToLowerInvariant(), report.Entries.ToDictionary(e => e.Key, e => e.Value.Description, StringComparer.Ordinal));
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, StatusJsonContext.Default.HealthBody));
    }

    private static IResult NotFound(string name) =>
        Results.Json(new ErrorBody($"no sync named '{name}'"), StatusJsonContext.Default.ErrorBody, statusCode: StatusCodes.Status404NotFound);
}
