using ConfigSync.Publishing;
using ConfigSync.Sources;
using Microsoft.Extensions.Logging;

namespace ConfigSync.Sync;

/// <summary>Reload verification outcomes and the rollback they can ask for.</summary>
internal sealed partial class SyncRunner
{
    /// <summary>Called by the signal dispatcher when reload verification of a tree ends.</summary>
    private void ReloadVerified(Manifest manifest, string? problem)
    {
        var now = _time.GetUtcNow();
        if (problem is null)
        {
            _metrics.ReloadVerified.WithLabels(Name).Inc();
            Update(s => s with { Reload = new ReloadState(manifest.Revision, "verified", now) });
            LogReloadVerified(_logger, Name, manifest.Revision);
            return;
        }

        _metrics.ReloadFailed.WithLabels(Name).Inc();
        Update(s => s with { Reload = new ReloadState(manifest.Revision, "failed", now, problem) });
        LogReloadFailed(_logger, Name, manifest.Revision, problem);
        if (_settings.Signal.Verify is { Rollback: true })
        {
            // The publisher belongs to the loop: the rollback runs there, at once.
            lock (_gate)
            {
                _rollback = (manifest, problem);
            }

            RequestSync();
        }
    }

    /// <summary>Rolls back a tree whose reload verification failed (when still live); runs on the loop, before a poll.</summary>
    internal void RollBackIfAsked()
    {
        (Manifest Failed, string Reason)? rollback;
        lock (_gate)
        {
            rollback = _rollback;
            _rollback = null;
        }

        if (rollback is not { } asked || _publisher.Live?.Tree != asked.Failed.Tree)
        {
            return;
        }

        if (_publisher.RollBack() is not { } restored)
        {
            LogRollbackImpossible(_logger, Name, asked.Failed.Revision);
            return;
        }

        _metrics.RollbackTotal.WithLabels(Name).Inc();
        Published(restored, _time.GetUtcNow());
        Rejected(new RevisionRejectedException(asked.Failed.Revision, "reload", asked.Reason));
        Update(s => s with { Reload = new ReloadState(asked.Failed.Revision, "rolledBack", _time.GetUtcNow(), asked.Reason) });
        LogRolledBack(_logger, Name, asked.Failed.Revision, restored.Revision);

        // Polls compare with the rolled-back revision, so it is not published again until the source moves on.
        _seenRevision = asked.Failed.Revision;
        _signals?.Published(restored);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Sync}: the app reports revision {Revision}; reload verified")]
    private static partial void LogReloadVerified(ILogger logger, string sync, string revision);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Sync}: reload verification of revision {Revision} failed: {Problem}")]
    private static partial void LogReloadFailed(ILogger logger, string sync, string revision, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Sync}: rolled back from revision {Failed} to {Restored}; {Failed} is not published again until the source changes")]
    private static partial void LogRolledBack(ILogger logger, string sync, string failed, string restored);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Sync}: cannot roll back revision {Revision}: no previous tree in this run")]
    private static partial void LogRollbackImpossible(ILogger logger, string sync, string revision);
}
