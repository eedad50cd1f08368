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
        DecryptedFiles = factory.CreateGauge("configsync_decrypted_files", "Files of the live tree published decrypted (SOPS).", "sync");
        SignalTotal = factory.CreateCounter("configsync_signal_total", "Signal attempts to the app by result (success, error).", "sync", "result");
        RevisionInfo = factory.CreateGauge("configsync_revision_info", "The live revision of each sync (value 1).", "sync", "revision");
        Ready = factory.CreateGauge("configsync_ready", "1 when every sync has a live tree (and is not stale), else 0.");
        TriggerTotal = factory.CreateCounter("configsync_trigger_total", "Sync triggers over HTTP by result (accepted, unauthorized, forbidden).", "sync", "result");
        ConsecutiveFailures = factory.CreateGauge("configsync_consecutive_failures", "Failed attempts in a row.", "sync");
        RejectedTotal = factory.CreateCounter("configsync_rejected_total", "Revisions refused by a check (signature, json, yaml, jsonSchema, exec, decrypt, reload).", "sync", "check");
        RejectedRevision = factory.CreateGauge("configsync_rejected_revision_info", "The newest refused revision of each sync and the check that refused it (value 1); gone once a later revision publishes.", "sync", "revision", "check");
        WebhookTotal = factory.CreateCounter("configsync_webhook_total", "Push webhook deliveries by result (accepted, ignored, unauthorized, invalid, too_large).", "sync", "result");
        ReloadVerified = factory.CreateCounter("configsync_reload_verified_total", "Revisions the app was verified to have applied.", "sync");
        ReloadFailed = factory.CreateCounter("configsync_reload_failed_total", "Revisions the app did not report as applied within signal.verify.timeout.", "sync");
        RollbackTotal = factory.CreateCounter("configsync_rollback_total", "Times the live link was moved back to the previous tree after a failed reload verification.", "sync");
        SourceRequests = factory.CreateCounter("configsync_source_requests_total", "Requests to the origin by operation (list, get, head, fetch, token), SDK retries included.", "sync", "operation");
        SourceThrottled = factory.CreateCounter("configsync_source_throttled_total", "Answers of the origin that throttled the sync (HTTP 429 or 503: S3 SlowDown, Azure ServerBusy, git over HTTP).", "sync");
    }

    /// <summary>The registry to export.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary><c>configsync_sync_total{sync,result}</c>.</summary>
    public Counter SyncTotal { get; }

    /// <summary><c>configsync_sync_duration_seconds{sync}</c>.</summary>
    public Histogram SyncDuration { get; }

    /// <summary><c>configsync_last_success_timestamp_seconds{sync}</c>.</summary>
    public Gauge LastSuccess { get; }

    /// <summary><c>configsync_decrypted_files{sync}</c>: files of the live tree that were decrypted.</summary>
    public Gauge DecryptedFiles { get; }

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

    /// <summary><c>configsync_rejected_total{sync,check}</c>.</summary>
    public Counter RejectedTotal { get; }

    /// <summary><c>configsync_rejected_revision_info{sync,revision,check}</c>.</summary>
    public Gauge RejectedRevision { get; }

    /// <summary><c>configsync_webhook_total{sync,result}</c>.</summary>
    public Counter WebhookTotal { get; }

    /// <summary><c>configsync_reload_verified_total{sync}</c>.</summary>
    public Counter ReloadVerified { get; }

    /// <summary><c>configsync_reload_failed_total{sync}</c>.</summary>
    public Counter ReloadFailed { get; }

    /// <summary><c>configsync_rollback_total{sync}</c>.</summary>
    public Counter RollbackTotal { get; }

    /// <summary><c>configsync_source_requests_total{sync,operation}</c>.</summary>
    public Counter SourceRequests { get; }

    /// <summary><c>configsync_source_throttled_total{sync}</c>.</summary>
    public Counter SourceThrottled { get; }

    /// <summary>Records a refused revision, replacing the series of an earlier one; null clears it.</summary>
    public void SetRejected(string sync, (string Revision, string Check)? previous, (string Revision, string Check)? rejected)
    {
        if (previous is { } old && old != rejected)
        {
            RejectedRevision.RemoveLabelled(sync, old.Revision, old.Check);
        }

        if (rejected is { } now)
        {
            RejectedRevision.WithLabels(sync, now.Revision, now.Check).Set(1);
        }
    }

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
