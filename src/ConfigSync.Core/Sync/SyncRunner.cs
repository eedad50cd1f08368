using System.Threading.Channels;
using ConfigSync.Configuration;
using ConfigSync.Diagnostics;
using ConfigSync.Publishing;
using ConfigSync.Signaling;
using ConfigSync.Sources;
using Microsoft.Extensions.FileSystemGlobbing;
using Microsoft.Extensions.Logging;

namespace ConfigSync.Sync;

/// <summary>
/// The loop of one sync: poll the source, publish what changed, signal the app, wait the interval
/// (or a backoff after a failure, or less when a trigger arrives). Triggers coalesce: any number of
/// requests during an attempt cause exactly one more attempt after it.
/// </summary>
internal sealed partial class SyncRunner : IAsyncDisposable
{
    /// <summary>Bytes allocated since the last collection that make an attempt end with one (<see cref="ReturnMemory"/>).</summary>
    internal const long CollectAfterBytes = 1024 * 1024;

    private static long s_allocatedAtCollection;
    private readonly SyncSettings _settings;
    private readonly IConfigSource _source;
    private readonly TreePublisher _publisher;
    private readonly SyncMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Matcher? _filter;
    private readonly Channel<bool> _triggers = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Lock _gate = new();
    private readonly StatusFiles _statusFiles;
    private SignalDispatcher? _signals;
    private SyncStatus _status;
    private string? _seenRevision;
    private bool _final;
    private bool _collectAfterPublish;
    private DateTimeOffset _lastTick;
    private (Manifest Failed, string Reason)? _rollback;

    public SyncRunner(SyncSettings settings, IConfigSource source, TreePublisher publisher, SyncMetrics metrics, TimeProvider time, ILogger logger)
    {
        _settings = settings;
        _source = source;
        _publisher = publisher;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        // The default (include ** and no exclude) keeps every entry: no matcher to run over each path.
        if (settings.Include is not ["**"] || settings.Exclude.Count > 0)
        {
            _filter = new Matcher(StringComparison.Ordinal);
            _filter.AddIncludePatterns(settings.Include);
            _filter.AddExcludePatterns(settings.Exclude);
        }
        _status = new SyncStatus { Name = settings.Name, Source = source.Describe, Path = publisher.LivePath };
        _statusFiles = new StatusFiles(settings, logger);
        _lastTick = time.GetUtcNow();
    }

    public string Name => _settings.Name;

    public SyncSettings Settings => _settings;

    public IConfigSource Source => _source;

    public SyncStatus Status
    {
        get
        {
            var status = Volatile.Read(ref _status);
            return status with { Ready = IsReady(status, _time.GetUtcNow()), Transfer = status.Syncing ? _publisher.Progress.Snapshot() : null };
        }
    }

    /// <summary>Called when <c>maxFailures</c> is reached.</summary>
    public Action? MaxFailuresReached { get; set; }

    /// <summary>Recovers the volume and prepares signalling; the sync is ready at once if a verified tree is live.</summary>
    public void Initialize(HttpClient? http)
    {
        var live = _publisher.Recover();
        DateTimeOffset? lastSuccess = live is null ? null : File.GetLastWriteTimeUtc(_publisher.LiveManifestPath!);
        Update(s => s with { LastSuccess = lastSuccess });
        if (live is not null)
        {
            _seenRevision = live.Revision;
            Published(live, lastSuccess!.Value);
            LogRecovered(_logger, Name, live.Revision, live.Files.Count);
        }

        _signals = http is null ? null : new SignalDispatcher(_settings, _publisher.LivePath, live, http, _metrics, _time, _logger);
        if (_signals is not null)
        {
            _signals.Verified = ReloadVerified;
        }
    }

    /// <summary>Asks for a sync now; coalesced with any other pending request.</summary>
    public void RequestSync() => _triggers.Writer.TryWrite(true);

    /// <summary>Whether the sync has a live tree that is fresh enough.</summary>
    public bool IsReady(DateTimeOffset now) => IsReady(Volatile.Read(ref _status), now);

    /// <summary>Whether the loop is stuck: an attempt far past its timeout, or no turn of the loop for far longer than it waits.</summary>
    public bool IsWedged(DateTimeOffset now)
    {
        var status = Volatile.Read(ref _status);
        var slack = _settings.Timeout + TimeSpan.FromSeconds(30);
        if (status.Syncing)
        {
            return status.LastAttempt is { } started && now - started > slack;
        }

        return !_final && now - _lastTick > (_settings.Interval * (1 + _settings.Jitter)) + slack;
    }

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var succeeded = await AttemptAsync(stoppingToken);
            CollectGarbage();
            if (CollectionDue())
            {
                // The loop resumes on the stack that completed the attempt, and those frames still hold what it
                // read: collected here, a poll of 2,000 blobs stayed alive until the next poll (12 MiB of heap
                // instead of 2, docs/benchmarks.md). After a yield they have returned.
                await Task.Yield();
                ReturnMemory();
            }

            if (_final)
            {
                LogFinal(_logger, Name, _seenRevision ?? "?");
                await Task.Delay(Timeout.InfiniteTimeSpan, _time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
                return;
            }

            var delay = succeeded
                ? Backoff.Jittered(_settings.Interval, _settings.Jitter, Random.Shared.NextDouble())
                : Backoff.AfterFailures(Volatile.Read(ref _status).ConsecutiveFailures, _settings.Interval, Random.Shared.NextDouble());
            Update(s => s with { NextAttempt = _time.GetUtcNow() + delay });
            await WaitAsync(delay, stoppingToken);
        }
    }

    /// <summary>One sync attempt; never throws except for cancellation by <paramref name="stoppingToken"/>.</summary>
    public async Task<bool> AttemptAsync(CancellationToken stoppingToken)
    {
        var started = _time.GetUtcNow();
        _lastTick = started;
        Update(s => s with { LastAttempt = started, Syncing = true });
        using var timeout = new CancellationTokenSource(_settings.Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, timeout.Token);
        string result;
        try
        {
            result = await SyncAsync(linked.Token);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            Update(s => s with { Syncing = false });
            throw;
        }
        catch (RevisionRejectedException e)
        {
            Rejected(e);
            Failed(Errors.Describe(e), started);
            return false;
        }
        catch (Exception e)
        {
            var message = e is OperationCanceledException && timeout.IsCancellationRequested
                ? $"the sync took longer than its timeout ({DurationParser.Format(_settings.Timeout)})"
                : Errors.Describe(e);
            Failed(message, started);
            return false;
        }

        var now = _time.GetUtcNow();
        _metrics.SyncTotal.WithLabels(Name, result).Inc();
        _metrics.SyncDuration.WithLabels(Name).Observe((now - started).TotalSeconds);
        _metrics.LastSuccess.WithLabels(Name).Set(now.ToUnixTimeMilliseconds() / 1000.0);
        _metrics.ConsecutiveFailures.WithLabels(Name).Set(0);
        Update(s => s with { LastSuccess = now, LastError = null, ConsecutiveFailures = 0, Syncing = false });
        TouchManifest(now);
        _statusFiles.Succeeded(result == "changed");
        _collectAfterPublish |= result == "changed";
        _lastTick = now;
        return true;
    }

    /// <summary>Waits until the app accepted the newest tree; false when the sync's timeout passes first.</summary>
    public Task<bool> WaitForSignalsAsync(CancellationToken cancellationToken) =>
        _signals is null ? Task.FromResult(true) : _signals.WaitSettledAsync(_settings.Timeout, _time, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_signals is not null)
        {
            await _signals.DisposeAsync();
        }

        await _source.DisposeAsync();
    }

    private async Task<string> SyncAsync(CancellationToken cancellationToken)
    {
        RollBackIfAsked();
        var snapshot = await _source.PollAsync(new PollContext(_seenRevision), cancellationToken);
        if (snapshot is null)
        {
            return "unchanged";
        }

        await using (snapshot)
        {
            var entries = _filter is null ? snapshot.Entries : [.. snapshot.Entries.Where(e => _filter.Match(e.Path).HasMatches)];
            var before = _publisher.Live;
            var manifest = await _publisher.PublishAsync(snapshot, entries, cancellationToken);
            _seenRevision = snapshot.Revision;
            _final = snapshot.IsFinal;
            if (manifest is null)
            {
                return "unchanged";
            }

            var previous = Volatile.Read(ref _status).Revision;
            Published(manifest, manifest.CreatedAt);
            var change = SignalPayload.Between(before, manifest, _publisher.LivePath);
            Update(s => s with { LastChanges = new TreeChange(change.Added.Count, change.Changed.Count, change.Removed.Count) });
            LogPublished(_logger, Name, manifest.Revision, manifest.Files.Count, manifest.Bytes, previous ?? "none");
            if (_signals is { VerifiesNext: true })
            {
                Update(s => s with { Reload = new ReloadState(manifest.Revision, "verifying", _time.GetUtcNow()) });
            }

            _signals?.Published(manifest);
            return "changed";
        }
    }

    private void Published(Manifest manifest, DateTimeOffset when)
    {
        var previous = Volatile.Read(ref _status).Revision;
        _metrics.SetRevision(Name, previous, manifest.Revision);
        _metrics.Files.WithLabels(Name).Set(manifest.Files.Count);
        _metrics.Bytes.WithLabels(Name).Set(manifest.Bytes);
        if (Volatile.Read(ref _status).Rejected is { } rejected && rejected.Revision != manifest.Revision)
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

    private void Rejected(RevisionRejectedException e)
    {
        var previous = Volatile.Read(ref _status).Rejected;
        _metrics.RejectedTotal.WithLabels(Name, e.Check).Inc();
        _metrics.SetRejected(Name, previous is null ? null : (previous.Revision, previous.Check), (e.Revision, e.Check));
        Update(s => s with { Rejected = new RejectedRevision(e.Revision, e.Check, e.Reason, _time.GetUtcNow()) });
    }

    private void Failed(string message, DateTimeOffset started)
    {
        var now = _time.GetUtcNow();
        _metrics.SyncTotal.WithLabels(Name, "error").Inc();
        _metrics.SyncDuration.WithLabels(Name).Observe((now - started).TotalSeconds);
        var failures = 0;
        Update(s => s with { LastError = message, ConsecutiveFailures = failures = s.ConsecutiveFailures + 1, Syncing = false });
        _metrics.ConsecutiveFailures.WithLabels(Name).Set(failures);
        _statusFiles.Failed(message, failures);
        _lastTick = now;
        LogFailed(_logger, Name, failures, message);
        if (_settings.MaxFailures > 0 && failures >= _settings.MaxFailures)
        {
            LogGivingUp(_logger, Name, failures);
            MaxFailuresReached?.Invoke();
        }
    }

    private async Task WaitAsync(TimeSpan delay, CancellationToken stoppingToken)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var timer = Task.Delay(delay, _time, wait.Token);
        var trigger = _triggers.Reader.WaitToReadAsync(wait.Token).AsTask();
        await Task.WhenAny(timer, trigger);
        await wait.CancelAsync();
        _triggers.Reader.TryRead(out _);
        stoppingToken.ThrowIfCancellationRequested();
    }

    /// <summary>
    /// A publish streams the tree through the GC's youngest generation, and a poll of a large bucket
    /// parses a listing of thousands of objects (megabytes, much of it in buffers large enough for the
    /// large-object heap, which only a full collection frees): an idle sidecar should not keep that
    /// memory until the GC's budgets next run out. After a publish, or an attempt that allocated more
    /// than <see cref="CollectAfterBytes"/> (counted over the whole process, so ten syncs of small
    /// buckets add up), one compacting collection of the small heap that remains gives it back to the
    /// system (docs/benchmarks.md). Below the threshold, what a poll allocated stays in touched pages
    /// of the youngest generation until its budget runs out: with 2 MiB, most polls of 2,000 S3 keys
    /// ended without a collection and the daemon moved between 40 and 43 MiB; with 1 MiB it stays at
    /// 40. Done by the loop, not the attempt: a one-shot run (once, an init container) exits instead.
    /// </summary>
    private void ReturnMemory()
    {
        _collectAfterPublish = false;
        Interlocked.Exchange(ref s_allocatedAtCollection, GC.GetTotalAllocatedBytes());
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    private bool CollectionDue() =>
        _collectAfterPublish || GC.GetTotalAllocatedBytes() - Interlocked.Read(ref s_allocatedAtCollection) >= CollectAfterBytes;

    private void CollectGarbage()
    {
        try
        {
            _publisher.CollectGarbage();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogGarbageFailed(_logger, Name, e.Message);
        }
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Sync}: sync failed ({Failures} in a row): {Error}")]
    private static partial void LogFailed(ILogger logger, string sync, int failures, string error);

    [LoggerMessage(Level = LogLevel.Critical, Message = "{Sync}: {Failures} failures in a row reached maxFailures; stopping with exit code 1")]
    private static partial void LogGivingUp(ILogger logger, string sync, int failures);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Sync}: revision {Revision} is pinned and live; polling stops")]
    private static partial void LogFinal(ILogger logger, string sync, string revision);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Sync}: could not remove old trees: {Reason}")]
    private static partial void LogGarbageFailed(ILogger logger, string sync, string reason);
}
