using ConfigSync.Configuration;
using ConfigSync.Diagnostics;
using ConfigSync.Publishing;
using Microsoft.Extensions.Logging;

namespace ConfigSync.Signaling;

/// <summary>Tells the app about each published tree, through every configured notifier, without blocking the sync loop.</summary>
internal sealed class SignalDispatcher : IAsyncDisposable
{
    private readonly List<SignalDelivery> _deliveries = [];
    private readonly ReloadVerifier? _verifier;
    private readonly TimeProvider _time;
    private bool _skipNext;
    private CancellationTokenSource? _verification;
    private Task _verifying = Task.CompletedTask;

    public SignalDispatcher(SyncSettings settings, string livePath, Manifest? live, HttpClient http, SyncMetrics metrics, TimeProvider time, ILogger logger, TimeSpan? firstRetryDelay = null)
    {
        var signal = settings.Signal;
        var notifiers = new List<INotifier>();
        if (signal.ExecCommand.Count > 0)
        {
            notifiers.Add(new ExecNotifier(signal, settings.Target.Root, settings.Name, logger));
        }

        if (signal.Url is not null)
        {
            notifiers.Add(new HttpNotifier(http, signal));
        }

        foreach (var notifier in notifiers)
        {
            _deliveries.Add(new SignalDelivery(notifier, settings.Name, livePath, notifier is ExecNotifier ? signal.ExecTimeout : signal.Timeout, live, metrics, time, logger, firstRetryDelay));
        }

        _time = time;
        _verifier = signal.Verify is { } verify ? new ReloadVerifier(http, verify, time) : null;

        // The app reads config at start: with skipFirst, the first tree published for an empty volume is not signalled.
        _skipNext = signal.SkipFirst && live is null;
    }

    /// <summary>Called when reload verification of a tree ends: null when the app reported it, else why not.</summary>
    public Action<Manifest, string?>? Verified { get; set; }

    /// <summary>Whether the next <see cref="Published"/> starts a reload verification (not for a tree skipFirst leaves unsignalled).</summary>
    public bool VerifiesNext => _verifier is not null && !_skipNext;

    /// <summary>Signals a newly published tree and, with signal.verify, checks the app applied it once every notifier delivered it.</summary>
    public void Published(Manifest manifest)
    {
        var skip = _skipNext;
        _skipNext = false;
        // Cancelled, not disposed: the superseded verification may still be between awaits with its token.
        _verification?.Cancel();
        _verification = null;
        if (!skip && _verifier is not null)
        {
            var cancel = _verification = new CancellationTokenSource();
            _verifying = Task.Run(() => VerifyAsync(manifest, cancel.Token));
        }

        foreach (var delivery in _deliveries)
        {
            if (skip)
            {
                delivery.MarkDelivered(manifest);
            }
            else
            {
                delivery.Offer(manifest);
            }
        }
    }

    /// <summary>Waits until the app accepted the newest tree through every notifier (and verification ended); false when <paramref name="timeout"/> passes first.</summary>
    public async Task<bool> WaitSettledAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + timeout;
        while (!_deliveries.All(d => d.Settled) || !_verifying.IsCompleted)
        {
            if (time.GetUtcNow() >= deadline)
            {
                return false;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), time, cancellationToken);
        }

        return true;
    }

    public async ValueTask DisposeAsync()
    {
        _verification?.Cancel();
        try
        {
            await _verifying;
        }
        catch (OperationCanceledException)
        {
        }

        foreach (var delivery in _deliveries)
        {
            await delivery.DisposeAsync();
        }
    }

    private async Task VerifyAsync(Manifest manifest, CancellationToken cancellationToken)
    {
        try
        {
            // Verification starts once the app has been told through every notifier (or at once, with none).
            while (!_deliveries.All(d => ReferenceEquals(d.Delivered, manifest)))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20), _time, cancellationToken);
            }

            var problem = await _verifier!.VerifyAsync(manifest.Revision, cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            Verified?.Invoke(manifest, problem);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Superseded by a newer tree (or shutting down): its verification replaces this one.
        }
    }
}
