using System.Threading.Channels;
using ConfigSync.Configuration;
using ConfigSync.Diagnostics;
using ConfigSync.Publishing;
using Microsoft.Extensions.Logging;

namespace ConfigSync.Signaling;

/// <summary>
/// Tells the app about each published tree, through every configured notifier, without blocking the sync loop;
/// with <c>signal.verify</c>, then asks the app whether it applied it. Verification results flow one way: they are
/// written to <see cref="Outcomes"/>, which the sync loop reads and acts on (it owns the volume, so a rollback is its
/// decision); nothing here calls back into the loop.
/// </summary>
internal sealed class SignalDispatcher : IAsyncDisposable
{
    private readonly List<SignalDelivery> _deliveries = [];
    private readonly ReloadVerifier? _verifier;
    private readonly Channel<ReloadOutcome> _outcomes = Channel.CreateUnbounded<ReloadOutcome>(new UnboundedChannelOptions { SingleReader = true });
    private bool _skipNext;
    private CancellationTokenSource? _verification;
    private Task _verifying = Task.CompletedTask;

    public SignalDispatcher(SyncSettings settings, string livePath, Manifest? live, HttpClient http, SyncMetrics metrics, TimeProvider time, ILogger logger)
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
            _deliveries.Add(new SignalDelivery(notifier, settings.Name, livePath, notifier is ExecNotifier ? signal.ExecTimeout : signal.Timeout, live, metrics, time, logger));
        }

        _verifier = signal.Verify is { } verify ? new ReloadVerifier(http, verify, time) : null;

        // The app reads config at start: with skipFirst, the first tree published for an empty volume is not signalled.
        _skipNext = signal.SkipFirst && live is null;
    }

    /// <summary>How each reload verification ended, in order; read by the sync loop.</summary>
    public ChannelReader<ReloadOutcome> Outcomes => _outcomes.Reader;

    /// <summary>
    /// Signals a newly published tree and, with signal.verify, starts checking the app applied it once every notifier
    /// delivered it. Returns whether verification started (not for a tree skipFirst leaves unsignalled).
    /// </summary>
    public bool Published(Manifest manifest)
    {
        var skip = _skipNext;
        _skipNext = false;
        // Cancelled, not disposed: the superseded verification may still be between awaits with its token.
        _verification?.Cancel();
        _verification = null;
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

        if (skip || _verifier is null)
        {
            return false;
        }

        var cancel = _verification = new CancellationTokenSource();
        _verifying = Task.Run(() => VerifyAsync(manifest, cancel.Token));
        return true;
    }

    /// <summary>Waits until the app accepted the newest tree through every notifier (and verification ended); false when <paramref name="timeout"/> passes first.</summary>
    public async Task<bool> WaitSettledAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(_deliveries.Select(d => d.WhenSettled).Append(_verifying)).WaitAsync(timeout, time, cancellationToken);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
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

        _outcomes.Writer.TryComplete();
    }

    private async Task VerifyAsync(Manifest manifest, CancellationToken cancellationToken)
    {
        try
        {
            // Verification starts once the app has been told through every notifier (or at once, with none).
            await Task.WhenAll(_deliveries.Select(d => d.WhenSettled)).WaitAsync(cancellationToken);
            if (!_deliveries.All(d => ReferenceEquals(d.Delivered, manifest)))
            {
                return; // superseded by a newer tree, whose verification replaces this one
            }

            var problem = await _verifier!.VerifyAsync(manifest.Revision, cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            _outcomes.Writer.TryWrite(new ReloadOutcome(manifest, problem));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Superseded by a newer tree (or shutting down): its verification replaces this one.
        }
    }
}
