using Prometheus;

namespace ConfigSync.Diagnostics;

/// <summary>The Prometheus metrics of one daemon, in their own registry (names as in the README).</summary>
public sealed class SyncMetrics
{
    /// <summary>Creates the metrics in a new registry.</summary>
    public SyncMetrics()
    {
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);
        SyncTotal = factory.CreateCounter("configsync_sync_total", "Sync attempts by result (changed, unchanged, error).", "sync", "result");
        SyncDuration = factory.CreateHistogram("configsync_sync_duration_seconds", "Duration of one sync attempt.", new HistogramConfiguration
        {
            LabelNames = ["sync"],
            Buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
        });
        LastSuccess = factory.CreateGauge("configsync_last_success_timestamp_seconds", "Unix time of the last successful sync.", "sync");
        Files = factory.CreateGauge("configsync_files", "Files in the live tree.", "sync");
        Bytes = factory.CreateGauge("configsync_bytes", "Bytes in the live tree.", "sync");
        SignalTotal = factory.CreateCounter("configsync_signal_total", "Signal attempts to the app by result (success, error).", "sync", "result");
        RevisionInfo = factory.CreateGauge("configsync_revision_info", "The live revision of each sync (value 1).", "sync", "revision");
        Ready = factory.CreateGauge("configsync_ready", "1 when every sync has a live tree (and is not stale), else 0.");
        TriggerTotal = factory.CreateCounter("configsync_trigger_total", "Sync triggers over HTTP by result (accepted, unauthorized, forbidden).", "sync", "result");
        ConsecutiveFailures = factory.CreateGauge("configsync_consecutive_failures", "Failed attempts in a row.", "sync");
    }

    /// <summary>The registry to export.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary><c>configsync_sync_total{sync,result}</c>.</summary>
    public Counter SyncTotal { get; }

    /// <summary><c>configsync_sync_duration_seconds{sync}</c>.</summary>
    public Histogram SyncDuration { get; }

    /// <summary><c>configsync_last_success_timestamp_seconds{sync}</c>.</summary>
    public Gauge LastSuccess { get; }

    /// <summary><c>configsync_files{sync}</c>.</summary>
    public Gauge Files { get; }

    /// <summary><c>configsync_bytes{sync}</c>.</summary>
    public Gauge Bytes { get; }

    /// <summary><c>configsync_signal_total{sync,result}</c>.</summary>
    public Counter SignalTotal { get; }

    /// <summary><c>configsync_revision_info{sync,revision}</c>.</summary>
    public Gauge RevisionInfo { get; }

    /// <summary><c>configsync_ready</c>.</summary>
    public Gauge Ready { get; }

    /// <summary><c>configsync_trigger_total{sync,result}</c>.</summary>
    public Counter TriggerTotal { get; }

    /// <summary><c>configsync_consecutive_failures{sync}</c>.</summary>
    public Gauge ConsecutiveFailures { get; }

    /// <summary>Sets the revision series of a sync, removing the previous one.</summary>
    public void SetRevision(string sync, string? previous, string revision)
    {
        if (previous is not null && previous != revision)
        {
            RevisionInfo.RemoveLabelled(sync, previous);
        }

        RevisionInfo.WithLabels(sync, revision).Set(1);
    }
}
