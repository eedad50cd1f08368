using ConfigSync.Configuration;
using ConfigSync.Diagnostics;
using ConfigSync.Publishing;
using Microsoft.Extensions.Logging;

namespace ConfigSync.Signaling;

/// <summary>Tells the app about each published tree, through every configured notifier, without blocking the sync loop.</summary>
internal sealed class SignalDispatcher : IAsyncDisposable
{
    private readonly List<SignalDelivery> _deliveries = [];
    private bool _skipNext;

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

        // The app reads config at start: with skipFirst, the first tree published for an empty volume is not signalled.
        _skipNext = signal.SkipFirst && live is null;
    }

    /// <summary>Signals a newly published tree.</summary>
    public void Published(Manifest manifest)
    {
        var skip = _skipNext;
        _skipNext = false;
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

    /// <summary>Waits until the app accepted the newest tree through every notifier; false when <paramref name="timeout"/> passes first.</summary>
    public async Task<bool> WaitSettledAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + timeout;
        while (!_deliveries.All(d => d.Settled))
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
        foreach (var delivery in _deliveries)
        {
            await delivery.DisposeAsync();
        }
    }
}
