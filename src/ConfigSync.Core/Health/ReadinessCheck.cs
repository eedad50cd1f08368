using ConfigSync.Sync;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ConfigSync.Health;

/// <summary>Ready once every sync has a live tree (published or verified at start), and while none is staler than its <c>maxStaleness</c>.</summary>
public sealed class ReadinessCheck(SyncEngine engine) : IHealthCheck
{
    /// <summary>The tag readiness checks carry.</summary>
    public const string Tag = "ready";

    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var now = engine.Time.GetUtcNow();
        var waiting = engine.Statuses.Where(s => !s.Ready).Select(s => s.Revision is null ? $"{s.Name}: no tree yet" : $"{s.Name}: stale").ToList();
        return Task.FromResult(waiting.Count == 0
            ? HealthCheckResult.Healthy("every sync has a live tree")
            : HealthCheckResult.Unhealthy(string.Join("; ", waiting)));
    }
}
