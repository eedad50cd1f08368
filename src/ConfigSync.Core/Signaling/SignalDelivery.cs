using ConfigSync.Diagnostics;
using ConfigSync.Publishing;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace ConfigSync.Signaling;

/// <summary>
/// Delivers the newest published tree through one notifier, in the background: retried with
/// exponential backoff and jitter (a Polly pipeline, each attempt under the signal timeout) until
/// it succeeds or a newer tree replaces it. The payload always describes the change from the last
/// tree the app accepted, so a superseded signal loses no file from the added/changed/removed lists.
/// </summary>
internal sealed partial class SignalDelivery : IAsyncDisposable
{
    private readonly INotifier _notifier;
    private readonly string _sync;
    private readonly string _livePath;
    private readonly SyncMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _pipeline;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly Task _loop;
    private Manifest? _pending;
    private Manifest? _latest;
    private int _disposed;
    private CancellationTokenSource? _attempt;
    private TaskCompletionSource _settled = Completed();

    public SignalDelivery(INotifier notifier, string sync, string livePath, TimeSpan timeout, Manifest? delivered, SyncMetrics metrics, TimeProvider time, ILogger logger)
    {
        _notifier = notifier;
        _sync = sync;
        _livePath = livePath;
        _metrics = metrics;
        _logger = logger;
        Delivered = delivered;
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not OperationCanceledException),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromSeconds(1),
                MaxDelay = TimeSpan.FromSeconds(30),
                OnRetry = args =>
                {
                    LogRetry(_logger, _sync, _notifier.Describe, args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception is { } e ? Errors.Describe(e) : "failed");
                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(timeout)
            .Build();
        _loop = Task.Run(RunAsync);
    }

    /// <summary>The last tree the app accepted.</summary>
    public Manifest? Delivered { get; private set; }

    /// <summary>Completes when the newest tree handed over so far has been accepted by the app.</summary>
    public Task WhenSettled
    {
        get
        {
            lock (_gate)
            {
                return _settled.Task;
            }
        }
    }

    /// <summary>Hands over a newly published tree; an undelivered older one is dropped.</summary>
    public void Offer(Manifest manifest)
    {
        lock (_gate)
        {
            _latest = manifest;
            _pending = manifest;
            _attempt?.Cancel();
            if (_settled.Task.IsCompleted)
            {
                _settled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        if (_wake.CurrentCount == 0)
        {
            try
            {
                _wake.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already awake: it will pick up the newest pending tree.
            }
        }
    }

    /// <summary>Marks a tree as known to the app without sending anything (skipFirst).</summary>
    public void MarkDelivered(Manifest manifest)
    {
        lock (_gate)
        {
            Delivered = manifest;
            _latest = manifest;
            _settled.TrySetResult();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
        _wake.Dispose();
    }

    private async Task RunAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            await _wake.WaitAsync(_stop.Token);
            while (true)
            {
                Manifest target;
                CancellationTokenSource attempt;
                lock (_gate)
                {
                    if (_pending is null)
                    {
                        break;
                    }

                    target = _pending;
                    _pending = null;
                    attempt = _attempt = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                }

                try
                {
                    var payload = SignalPayload.Between(Delivered, target, _livePath);
                    await _pipeline.ExecuteAsync(
                        async token =>
                        {
                            try
                            {
                                await _notifier.NotifyAsync(payload, token);
                                _metrics.SignalTotal.WithLabels(_sync, "success").Inc();
                            }
                            catch (Exception e) when (e is not OperationCanceledException || !attempt.IsCancellationRequested)
                            {
                                _metrics.SignalTotal.WithLabels(_sync, "error").Inc();
                                throw;
                            }
                        },
                        attempt.Token);
                    lock (_gate)
                    {
                        Delivered = target;
                        if (ReferenceEquals(_latest, target))
                        {
                            _settled.TrySetResult();
                        }
                    }

                    LogDelivered(_logger, _sync, _notifier.Describe, target.Revision);
                }
                catch (OperationCanceledException) when (attempt.IsCancellationRequested && !_stop.IsCancellationRequested)
                {
                    LogSuperseded(_logger, _sync, _notifier.Describe, target.Revision);
                }
                finally
                {
                    lock (_gate)
                    {
                        _attempt = null;
                    }

                    attempt.Dispose();
                }
            }
        }
    }

    private static TaskCompletionSource Completed()
    {
        var source = new TaskCompletionSource();
        source.SetResult();
        return source;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Sync}: signalled {Target} with revision {Revision}")]
    private static partial void LogDelivered(ILogger logger, string sync, string target, string revision);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Sync}: signal to {Target} failed (attempt {Attempt}), retrying in {Delay}: {Error}")]
    private static partial void LogRetry(ILogger logger, string sync, string target, int attempt, TimeSpan delay, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Sync}: signal to {Target} for revision {Revision} superseded by a newer revision")]
    private static partial void LogSuperseded(ILogger logger, string sync, string target, string revision);
}
