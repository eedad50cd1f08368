using ConfigSync.Configuration;
using ConfigSync.Diagnostics;
using ConfigSync.Publishing;
using ConfigSync.Signaling;
using ConfigSync.Sources;
using Microsoft.Extensions.Logging;

namespace ConfigSync.Sync;

/// <summary>
/// The only writer of what a sync reports: its <see cref="SyncStatus"/> (for <c>/status</c> and readiness),
/// its metrics, its status files (touch file, error file, the live manifest's mtime) and the log line of each
/// event. One method per event; the loop calls them, nothing else writes status.
/// </summary>
internal sealed partial class SyncRecorder
{
    private readonly SyncSettings _settings;
    private readonly TreePublisher _publisher;
    private readonly SyncMetrics _metrics;
    private readonly StatusFiles _files;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private SyncStatus _status;

    public SyncRecorder(SyncSettings settings, string source, TreePublisher publisher, SyncMetrics metrics, TimeProvider time, ILogger logger)
    {
        _settings = settings;
        _publisher = publisher;
        _metrics = metrics;
        _files = new StatusFiles(settings, logger);
        _time = time;
        _logger = logger;
        _status = new SyncStatus { Name = settings.Name, Source = source, Path = publisher.LivePath };
    }

    private string Name => _settings.Name;

    /// <summary>The status now, with readiness and the progress of a tree being written.</summary>
    public SyncStatus Status
    {
        get
        {
            var status = Volatile.Read(ref _status);
            return status with { Ready = IsReady(status, _time.GetUtcNow()), Transfer = status.Syncing ? _publisher.Progress.Snapshot() : null };
        }
    }

    /// <summary>Whether the sync has a live tree that is fresh enough.</summary>
    public bool IsReady(DateTimeOffset now) => IsReady(Volatile.Read(ref _status), now);

    /// <summary>A verified tree was found live at start; its manifest's mtime is the last success.</summary>
    public void Recovered(Manifest live)
    {
        var lastSuccess = new DateTimeOffset(File.GetLastWriteTimeUtc(_publisher.LiveManifestPath!));
        Update(s => s with { LastSuccess = lastSuccess });
        Published(live, lastSuccess);
        LogRecovered(_logger, Name, live.Revision, live.Files.Count);
    }

    public void AttemptStarted(DateTimeOffset at) => Update(s => s with { LastAttempt = at, Syncing = true });

    /// <summary>The attempt was cancelled because the daemon stops.</summary>
    public void AttemptStopped() => Update(s => s with { Syncing = false });

    /// <summary>An attempt published a tree or found nothing new.</summary>
    public void Succeeded(AttemptOutcome outcome)
    {
        if (outcome is AttemptOutcome.Changed changed)
        {
            var previous = Volatile.Read(ref _status).Revision;
            Published(changed.Manifest, changed.Manifest.CreatedAt);
            Update(s => s with { LastChanges = changed.Change });
            LogPublished(_logger, Name, changed.Manifest.Revision, changed.Manifest.Files.Count, changed.Manifest.Bytes, previous ?? "none");
        }

        Attempted(outcome);
        _metrics.LastSuccess.WithLabels(Name).Set(outcome.Ended.ToUnixTimeMilliseconds() / 1000.0);
        _metrics.ConsecutiveFailures.WithLabels(Name).Set(0);
        Update(s => s with { LastSuccess = outcome.Ended, LastError = null, ConsecutiveFailures = 0, Syncing = false, Throttled = null });
        TouchManifest(outcome.Ended);
        _files.Succeeded(published: outcome is AttemptOutcome.Changed);
    }

    /// <summary>An attempt failed; true when the failures in a row reached <c>maxFailures</c> (the daemon gives up).</summary>
    public bool Failed(AttemptOutcome.Failed outcome)
    {
        if (outcome.Rejected is { } rejected)
        {
            Rejected(rejected);
        }

        Attempted(outcome);
        var failures = 0;
        Update(s => s with { LastError = outcome.Error, ConsecutiveFailures = failures = s.ConsecutiveFailures + 1, Syncing = false });
        _metrics.ConsecutiveFailures.WithLabels(Name).Set(failures);
        _files.Failed(outcome.Error, failures);
        LogFailed(_logger, Name, failures, outcome.Error);
        var givingUp = _settings.MaxFailures > 0 && failures >= _settings.MaxFailures;
        if (givingUp)
        {
            LogGivingUp(_logger, Name, failures);
        }

        return givingUp;
    }

    public void NextAttempt(DateTimeOffset at) => Update(s => s with { NextAttempt = at });

    /// <summary>The origin throttled the failed attempt; the next one waits until <paramref name="until"/>.</summary>
    public void Throttled(Throttling throttling, DateTimeOffset until)
    {
        Update(s => s with { Throttled = new ThrottleState(_time.GetUtcNow(), throttling.Answers, throttling.RetryAfter?.TotalSeconds, until) });
        LogThrottled(_logger, Name, throttling.Answers, throttling.RetryAfter is { } wait ? $"{wait.TotalSeconds:0.#} s" : "none", until);
    }

    /// <summary>The app was signalled about <paramref name="manifest"/> and verification of its reload started.</summary>
    public void Verifying(Manifest manifest) => Update(s => s with { Reload = new ReloadState(manifest.Revision, ReloadPhase.Verifying, _time.GetUtcNow()) });

    /// <summary>Reload verification of the live tree ended.</summary>
    public void ReloadEnded(ReloadOutcome outcome)
    {
        var revision = outcome.Manifest.Revision;
        if (outcome.Problem is not { } problem)
        {
            _metrics.ReloadVerified.WithLabels(Name).Inc();
            Update(s => s with { Reload = new ReloadState(revision, ReloadPhase.Verified, _time.GetUtcNow()) });
            LogReloadVerified(_logger, Name, revision);
            return;
        }

        _metrics.ReloadFailed.WithLabels(Name).Inc();
        Update(s => s with { Reload = new ReloadState(revision, ReloadPhase.Failed, _time.GetUtcNow(), problem) });
        LogReloadFailed(_logger, Name, revision, problem);
    }

    /// <summary>The live link went back from <paramref name="failed"/> to <paramref name="restored"/> after a failed verification.</summary>
    public void RolledBack(Manifest failed, Manifest restored, string reason)
    {
        var now = _time.GetUtcNow();
        _metrics.RollbackTotal.WithLabels(Name).Inc();
        Published(restored, now);
        Rejected(new RejectedRevision(failed.Revision, "reload", reason, now));
        Update(s => s with { Reload = new ReloadState(failed.Revision, ReloadPhase.RolledBack, now, reason) });
        LogRolledBack(_logger, Name, failed.Revision, restored.Revision);
    }

    /// <summary>Verification failed and asked for a rollback, but there is no previous tree.</summary>
    public void RollbackImpossible(Manifest failed) => LogRollbackImpossible(_logger, Name, failed.Revision);

    /// <summary>A pinned revision is live: the loop stops polling.</summary>
    public void Final(string revision) => LogFinal(_logger, Name, revision);

    /// <summary>Old trees could not be removed from the volume; not fatal, the next attempt tries again.</summary>
    public void OldTreesNotRemoved(string reason) => LogOldTreesNotRemoved(_logger, Name, reason);

    private void Attempted(AttemptOutcome outcome)
    {
        _metrics.SyncTotal.WithLabels(Name, outcome.Result).Inc();
        _metrics.SyncDuration.WithLabels(Name).Observe((outcome.Ended - outcome.Started).TotalSeconds);
    }

    private void Published(Manifest manifest, DateTimeOffset when)
    {
        var status = Volatile.Read(ref _status);
        _metrics.SetRevision(Name, status.Revision, manifest.Revision);
        _metrics.Files.WithLabels(Name).Set(manifest.Files.Count);
        _metrics.DecryptedFiles.WithLabels(Name).Set(manifest.Files.Count(f => f.SourceSha256 is not null));
        _metrics.Bytes.WithLabels(Name).Set(manifest.Bytes);
        if (status.Rejected is { } rejected && rejected.Revision != manifest.Revision)
        {
            _metrics.SetRejected(Name, (rejected.Revision, rejected.Check), null);
            Update(s => s with { Rejected = null });
        }

        Update(s => s with
        {
            Revision = manifest.Revision,
            LastChange = when,
            Files = manifest.Files.Count,
            Bytes = manifest.Bytes,
            Manifest = _publisher.LiveManifestPath,
            Details = manifest.Details,
        });
    }

    private void Rejected(RejectedRevision rejected)
    {
        var previous = Volatile.Read(ref _status).Rejected;
        _metrics.RejectedTotal.WithLabels(Name, rejected.Check).Inc();
        _metrics.SetRejected(Name, previous is null ? null : (previous.Revision, previous.Check), (rejected.Revision, rejected.Check));
        Update(s => s with { Rejected = rejected });
    }

    private void TouchManifest(DateTimeOffset now)
    {
        // The manifest's mtime records the last success, so a restarted daemon knows how fresh the live tree is.
        try
        {
            if (_publisher.LiveManifestPath is { } path)
            {
                File.SetLastWriteTimeUtc(path, now.UtcDateTime);
            }
        }
        catch (IOException)
        {
        }
    }

    private bool IsReady(SyncStatus status, DateTimeOffset now) =>
        status.Revision is not null
        && (_settings.MaxStaleness <= TimeSpan.Zero || (status.LastSuccess is { } success && now - success <= _settings.MaxStaleness));

    private void Update(Func<SyncStatus, SyncStatus> change)
    {
        lock (_gate)
        {
            Volatile.Write(ref _status, change(_status));
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Sync}: published revision {Revision} ({Files} files, {Bytes} bytes; previous {Previous})")]
    private static partial void LogPublished(ILogger logger, string sync, string revision, int files, long bytes, string previous);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Sync}: kept the verified live tree of revision {Revision} ({Files} files); ready at once")]
    private static partial void LogRecovered(ILogger logger, string sync, string revision, int files);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Sync}: the origin throttled the sync ({Answers} answers 429/503, Retry-After {RetryAfter}); next attempt at {Until:o}")]
    private static partial void LogThrottled(ILogger logger, string sync, int answers, string retryAfter, DateTimeOffset until);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Sync}: sync failed ({Failures} in a row): {Error}")]
    private static partial void LogFailed(ILogger logger, string sync, int failures, string error);

    [LoggerMessage(Level = LogLevel.Critical, Message = "{Sync}: {Failures} failures in a row reached maxFailures; stopping with exit code 1")]
    private static partial void LogGivingUp(ILogger logger, string sync, int failures);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Sync}: the app reports revision {Revision}; reload verified")]
    private static partial void LogReloadVerified(ILogger logger, string sync, string revision);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Sync}: reload verification of revision {Revision} failed: {Problem}")]
    private static partial void LogReloadFailed(ILogger logger, string sync, string revision, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Sync}: rolled back from revision {Failed} to {Restored}; {Failed} is not published again until the source changes")]
    private static partial void LogRolledBack(ILogger logger, string sync, string failed, string restored);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Sync}: revision {Revision} is pinned and live; polling stops")]
    private static partial void LogFinal(ILogger logger, string sync, string revision);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Sync}: could not remove old trees: {Reason}")]
    private static partial void LogOldTreesNotRemoved(ILogger logger, string sync, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Sync}: cannot roll back revision {Revision}: no previous tree in this run")]
    private static partial void LogRollbackImpossible(ILogger logger, string sync, string revision);
}
