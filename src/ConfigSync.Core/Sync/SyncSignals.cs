using ConfigSync.Configuration;
using ConfigSync.Diagnostics;
using ConfigSync.Publishing;
using ConfigSync.Signaling;

namespace ConfigSync.Sync;

/// <summary>
/// The app's side of one sync: signals each new tree (through the <see cref="SignalDispatcher"/>) and acts on reload
/// verification results, in one direction: the dispatcher reports results, this class reads them on the sync's own
/// loop (which owns the volume) and records them; a failed result with <c>rollback</c> set rolls back here and
/// nowhere else.
/// </summary>
internal sealed class SyncSignals(SyncSettings settings, TreePublisher publisher, SyncAttempt attempt, SyncRecorder recorder, SignalDispatcher dispatcher, TimeProvider time)
    : IAsyncDisposable
{
    /// <summary>Signals a newly published tree; records that verification started when it does.</summary>
    public void Published(Manifest manifest)
    {
        if (dispatcher.Published(manifest))
        {
            recorder.Verifying(manifest);
        }
    }

    /// <summary>Completes when a verification result is waiting (true), or never again (false).</summary>
    public Task<bool> WaitForResultAsync(CancellationToken cancellationToken) => dispatcher.Outcomes.WaitToReadAsync(cancellationToken).AsTask();

    /// <summary>Acts on every waiting verification result; returns the tree restored by a rollback, if there was one.</summary>
    public Manifest? ActOnResults()
    {
        Manifest? restored = null;
        while (dispatcher.Outcomes.TryRead(out var outcome))
        {
            restored = ActOn(outcome) ?? restored;
        }

        return restored;
    }

    /// <summary>
    /// For a one-shot run: waits until the app accepted the newest tree and its verification ended, acting on the
    /// result as the loop does (a rollback included). Returns null, or why the app did not take the tree.
    /// </summary>
    public async Task<string?> SettleAsync(CancellationToken cancellationToken)
    {
        string? problem = null;
        while (true)
        {
            if (!await dispatcher.WaitSettledAsync(settings.Timeout, time, cancellationToken))
            {
                return $"the app did not accept the signal within the sync's timeout ({DurationParser.Format(settings.Timeout)})";
            }

            var rolledBack = false;
            while (dispatcher.Outcomes.TryRead(out var outcome))
            {
                var restored = ActOn(outcome);
                problem = outcome.Problem is null ? problem : outcome.Problem + (restored is null ? string.Empty : $"; rolled back to {restored.Revision}");
                rolledBack |= restored is not null;
            }

            if (!rolledBack)
            {
                return problem;
            }
        }
    }

    public ValueTask DisposeAsync() => dispatcher.DisposeAsync();

    /// <summary>
    /// The one place a verification result is acted on: recorded, and when it failed with <c>rollback</c> set, the live
    /// link goes back to the previous tree, which is signalled again. A result for a tree that is no longer live is
    /// dropped. Returns the restored tree after a rollback, else null.
    /// </summary>
    private Manifest? ActOn(ReloadOutcome outcome)
    {
        var failed = outcome.Manifest;
        if (publisher.Live is not { } live || live.Tree != failed.Tree || live.Revision != failed.Revision)
        {
            return null;
        }

        recorder.ReloadEnded(outcome);
        if (outcome.Problem is not { } problem || settings.Signal.Verify is not { Rollback: true })
        {
            return null;
        }

        if (publisher.RollBack() is not { } restored)
        {
            recorder.RollbackImpossible(failed);
            return null;
        }

        recorder.RolledBack(failed, restored, problem);
        // Polls compare with the rolled-back revision, so it is not published again until the source moves on.
        attempt.SeenRevision = failed.Revision;
        dispatcher.Published(restored);
        return restored;
    }
}
