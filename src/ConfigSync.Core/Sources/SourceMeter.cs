using System.Collections.Concurrent;
using ConfigSync.Diagnostics;

namespace ConfigSync.Sources;

/// <summary>
/// Counts what one sync asks of its origin: every request by operation (<c>configsync_source_requests_total</c>) and
/// every answer that throttled it (HTTP 429 or 503, <c>configsync_source_throttled_total</c>), with the longest
/// <c>Retry-After</c> since the sync loop last looked, so the loop waits at least that long before its next attempt.
/// Thread-safe: a snapshot downloads in parallel.
/// </summary>
public sealed class SourceMeter
{
    /// <summary>The operation label of a listing request.</summary>
    public const string List = "list";

    /// <summary>The operation label of a download (an object, a blob, the index).</summary>
    public const string Get = "get";

    /// <summary>The operation label of a metadata request.</summary>
    public const string Head = "head";

    /// <summary>The operation label of a git network operation (advertised refs or a fetch).</summary>
    public const string Fetch = "fetch";

    /// <summary>The operation label of a request for a credential (an installation token).</summary>
    public const string Token = "token";

    /// <summary>The operation label of an upload (<c>configsync publish</c>).</summary>
    public const string Put = "put";

    /// <summary>The operation label of a delete (<c>configsync publish</c>).</summary>
    public const string Delete = "delete";

    private readonly string _sync;
    private readonly SyncMetrics? _metrics;
    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private int _throttled;
    private TimeSpan? _retryAfter;

    /// <summary>Creates the meter of <paramref name="sync"/>; without <paramref name="metrics"/> it only counts for <see cref="Count"/>.</summary>
    public SourceMeter(string sync, SyncMetrics? metrics)
    {
        _sync = sync;
        _metrics = metrics;
    }

    /// <summary>Records a request to the origin.</summary>
    public void Request(string operation)
    {
        _counts.AddOrUpdate(operation, 1, static (_, n) => n + 1);
        _metrics?.SourceRequests.WithLabels(_sync, operation).Inc();
    }

    /// <summary>Records an answer that throttled the sync, with the wait it asked for, if any.</summary>
    public void Throttled(TimeSpan? retryAfter)
    {
        _metrics?.SourceThrottled.WithLabels(_sync).Inc();
        lock (_lock)
        {
            _throttled++;
            if (retryAfter is { } wait && (_retryAfter is null || wait > _retryAfter))
            {
                _retryAfter = wait;
            }
        }
    }

    /// <summary>Requests of <paramref name="operation"/> so far (for tests and benchmarks).</summary>
    public long Count(string operation) => _counts.GetValueOrDefault(operation);

    /// <summary>The throttling answers since the last call, or null when there were none; resets them.</summary>
    public Throttling? Take()
    {
        lock (_lock)
        {
            if (_throttled == 0)
            {
                return null;
            }

            var taken = new Throttling(_throttled, _retryAfter);
            (_throttled, _retryAfter) = (0, null);
            return taken;
        }
    }
}

/// <summary>The origin throttled the sync.</summary>
/// <param name="Answers">Answers with HTTP 429 or 503 (the SDKs' own retries included).</param>
/// <param name="RetryAfter">The longest <c>Retry-After</c> they carried, or null when none did.</param>
public sealed record Throttling(int Answers, TimeSpan? RetryAfter);
