using System.Threading.Channels;
using ConfigSync.Configuration;
using ConfigSync.Diagnostics;
using ConfigSync.Publishing;
using ConfigSync.Signaling;
using ConfigSync.Sources;
using Microsoft.Extensions.Logging;

namespace ConfigSync.Sync;

/// <summary>
/// One sync: a loop that schedules attempts (the interval, a backoff after a failure, or at once on a trigger), an
/// attempt that polls the source, publishes what changed and signals the app, and the handling of reload
/// verification results. Everything it reports goes through its <see cref="SyncRecorder"/>. Triggers coalesce: any
/// number of requests during an attempt cause exactly one more attempt after it.
/// </summary>
internal sealed class SyncRunner : IAsyncDisposable
{
    private readonly SyncSettings _settings;
    private readonly TreePublisher _publisher;
    private readonly SyncRecorder _recorder;
    private readonly SyncMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SyncAttempt _attempt;
    private readonly Channel<bool> _triggers = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private SyncSignals? _signals;
    private DateTimeOffset _lastTick;
    private bool _inPhase;
    private Throttling? _lastThrottling;

    public SyncRunner(SyncSettings settings, IConfigSource source, TreePublisher publisher, SyncMetrics metrics, TimeProvider time, ILogger logger)
    {
        _settings = settings;
        Source = source;
        _publisher = publisher;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _attempt = new SyncAttempt(settings, source, publisher, time);
        _recorder = new SyncRecorder(settings, source.Describe, publisher, metrics, time, logger);
        _lastTick = time.GetUtcNow();
    }

    public string Name => _settings.Name;

    public SyncSettings Settings => _settings;

    public IConfigSource Source { get; }

    public SyncStatus Status => _recorder.Status;

    /// <summary>What the source asked of its origin; after an attempt the loop reads the throttling answers from it.</summary>
    public SourceMeter Meter { get; init; } = new(string.Empty, null);

    /// <summary>Called when <c>maxFailures</c> is reached.</summary>
    public Action? MaxFailuresReached { get; set; }

    /// <summary>Recovers the volume and prepares signalling (none when <paramref name="http"/> is null); ready at once if a verified tree is live.</summary>
    public void Initialize(HttpClient? http)
    {
        var live = _publisher.Recover();
        if (live is not null)
        {
            _attempt.SeenRevision = live.Revision;
            _recorder.Recovered(live);
        }

        _signals = http is null ? null : new SyncSignals(_settings, _publisher, _attempt, _recorder, new SignalDispatcher(_settings, _publisher.LivePath, live, http, _metrics, _time, _logger), _time);
    }

    /// <summary>Asks for a sync now; coalesced with any other pending request.</summary>
    public void RequestSync() => _triggers.Writer.TryWrite(true);

    /// <summary>Whether a sync was asked for and no attempt has taken the request yet.</summary>
    public bool SyncRequested => _triggers.Reader.Count > 0;

    /// <summary>Whether the sync has a live tree that is fresh enough.</summary>
    public bool IsReady(DateTimeOffset now) => _recorder.IsReady(now);

    /// <summary>Whether the loop is stuck: an attempt far past its timeout, or no turn of the loop for far longer than it waits.</summary>
    public bool IsWedged(DateTimeOffset now)
    {
        var status = _recorder.Status;
        var slack = _settings.Timeout + TimeSpan.FromSeconds(30);
        if (status.Syncing)
        {
            return status.LastAttempt is { } started && now - started > slack;
        }

        return !_attempt.IsFinal && now - _lastTick > (_settings.Interval * (1 + _settings.Jitter)) + slack;
    }

    /// <summary>The loop: attempts until <paramref name="stoppingToken"/> stops it; <paramref name="afterAttempt"/> sees each outcome.</summary>
    public async Task RunAsync(Func<AttemptOutcome, Task>? afterAttempt, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var outcome = await AttemptAsync(stoppingToken);
            RemoveOldTrees();
            await (afterAttempt?.Invoke(outcome) ?? Task.CompletedTask);
            if (_attempt.IsFinal)
            {
                _recorder.Final(_attempt.SeenRevision ?? "?");
                await Task.Delay(Timeout.InfiniteTimeSpan, _time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
                return;
            }

            // After the first success, and after the first success that ends a run of failures, the phase is spread over
            // the interval: a rollout starts a fleet together, and an origin that comes back (or stalls and then answers
            // every waiting request at once) releases it together. Otherwise the interval ± jitter.
            var delay = outcome.Succeeded
                ? (_inPhase ? Backoff.Jittered(_settings.Interval, _settings.Jitter, Random.Shared.NextDouble()) : Backoff.Phase(_settings.Interval, Random.Shared.NextDouble()))
                : Backoff.AfterFailures(_recorder.Status.ConsecutiveFailures, _settings.Interval, Random.Shared.NextDouble());
            _inPhase = outcome.Succeeded;
            if (_lastThrottling is { } throttling && !outcome.Succeeded)
            {
                // The origin asked for room: at least its Retry-After (plus a random part of the backoff, so a fleet told
                // the same Retry-After does not come back in the same second), or the backoff when it gave none.
                delay = Backoff.AfterThrottling(delay, throttling.RetryAfter);
                _recorder.Throttled(throttling, _time.GetUtcNow() + delay);
            }

            _recorder.NextAttempt(_time.GetUtcNow() + delay);
            await WaitAsync(delay, stoppingToken);
        }
    }

    /// <summary>One sync attempt, recorded, and the app signalled about a new tree; never throws except for cancellation by <paramref name="stoppingToken"/>.</summary>
    public async Task<AttemptOutcome> AttemptAsync(CancellationToken stoppingToken)
    {
        _lastTick = _time.GetUtcNow();
        _recorder.AttemptStarted(_lastTick);
        AttemptOutcome outcome;
        try
        {
            outcome = await _attempt.RunAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            _recorder.AttemptStopped();
            throw;
        }

        _lastTick = outcome.Ended;
        _lastThrottling = Meter.Take();
        if (outcome is AttemptOutcome.Failed failed && _recorder.Failed(failed))
        {
            MaxFailuresReached?.Invoke();
        }
        else if (outcome.Succeeded)
        {
            _recorder.Succeeded(outcome);
        }

        if (outcome is AttemptOutcome.Changed changed)
        {
            _signals?.Published(changed.Manifest);
        }

        return outcome;
    }

    /// <summary>For a one-shot run: waits for the app to take the newest tree (see <see cref="SyncSignals.SettleAsync"/>); null when it did.</summary>
    public Task<string?> SettleAsync(CancellationToken cancellationToken) => _signals?.SettleAsync(cancellationToken) ?? Task.FromResult<string?>(null);

    public async ValueTask DisposeAsync()
    {
        if (_signals is not null)
        {
            await _signals.DisposeAsync();
        }

        await Source.DisposeAsync();
    }

    /// <summary>Waits for the delay or a trigger; reload verification results that arrive meanwhile are acted on, and a rollback ends the wait.</summary>
    private async Task WaitAsync(TimeSpan delay, CancellationToken stoppingToken)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var timer = Task.Delay(delay, _time, wait.Token);
        var trigger = _triggers.Reader.WaitToReadAsync(wait.Token).AsTask();
        var results = _signals?.WaitForResultAsync(wait.Token) ?? Task.Delay(Timeout.InfiniteTimeSpan, _time, wait.Token).ContinueWith(_ => false, TaskScheduler.Default);
        while (await Task.WhenAny(timer, trigger, results) == results && !stoppingToken.IsCancellationRequested)
        {
            if (!await results)
            {
                await Task.WhenAny(timer, trigger); // the dispatcher closed: no more results
                break;
            }

            if (_signals!.ActOnResults() is not null)
            {
                break; // after a rollback, poll at once, as after a trigger
            }

            results = _signals.WaitForResultAsync(wait.Token);
        }

        await wait.CancelAsync();
        _triggers.Reader.TryRead(out _);
        stoppingToken.ThrowIfCancellationRequested();
    }

    /// <summary>Deletes old trees past their grace period from the volume (not memory: see <see cref="HeapTrimmer"/>).</summary>
    private void RemoveOldTrees()
    {
        try
        {
            _publisher.RemoveOldTrees();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _recorder.OldTreesNotRemoved(e.Message);
        }
    }
}
