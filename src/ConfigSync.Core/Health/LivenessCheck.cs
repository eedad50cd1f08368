using ConfigSync.Sync;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ConfigSync.Health;

/// <summary>Live while every sync loop makes progress; unhealthy when one is stuck far past its timeout or interval.</summary>
public sealed class LivenessCheck(SyncEngine engine) : IHealthCheck
{
    /// <summary>The tag liveness checks carry.</summary>
    public const string Tag = "live";

    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var wedged = engine.Wedged(engine.Time.GetUtcNow());
        return Task.FromResult(wedged.Count == 0
            ? HealthCheckResult.Healthy("every sync loop is making progress")
            : HealthCheckResult.Unhealthy("stuck: " + string.Join(", ", wedged)));
    }
}
