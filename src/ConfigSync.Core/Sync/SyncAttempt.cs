using ConfigSync.Configuration;
using ConfigSync.Diagnostics;
using ConfigSync.Publishing;
using ConfigSync.Signaling;
using ConfigSync.Sources;
using Microsoft.Extensions.FileSystemGlobbing;

namespace ConfigSync.Sync;

/// <summary>
/// One sync attempt, under the sync's timeout: poll the source for anything newer than the revision seen last, keep
/// the included paths, publish. Returns what it came to; reports nothing itself (the runner records the outcome).
/// </summary>
internal sealed class SyncAttempt
{
    private readonly SyncSettings _settings;
    private readonly IConfigSource _source;
    private readonly TreePublisher _publisher;
    private readonly TimeProvider _time;
    private readonly Matcher? _filter;

    public SyncAttempt(SyncSettings settings, IConfigSource source, TreePublisher publisher, TimeProvider time)
    {
        _settings = settings;
        _source = source;
        _publisher = publisher;
        _time = time;
        // The default (include ** and no exclude) keeps every entry: no matcher to run over each path.
        if (settings.Include is not ["**"] || settings.Exclude.Count > 0)
        {
            _filter = new Matcher(StringComparison.Ordinal);
            _filter.AddIncludePatterns(settings.Include);
            _filter.AddExcludePatterns(settings.Exclude);
        }
    }

    /// <summary>The revision polls compare with: the last one published or found unchanged (or rolled back from).</summary>
    public string? SeenRevision { get; set; }

    /// <summary>Whether the source said its revision never changes (a pinned commit): polling can stop.</summary>
    public bool IsFinal { get; private set; }

    /// <summary>Runs one attempt; never throws except for cancellation by <paramref name="stoppingToken"/>.</summary>
    public async Task<AttemptOutcome> RunAsync(CancellationToken stoppingToken)
    {
        var started = _time.GetUtcNow();
        using var timeout = new CancellationTokenSource(_settings.Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, timeout.Token);
        try
        {
            return await SyncAsync(started, linked.Token);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            var message = e is OperationCanceledException && timeout.IsCancellationRequested
                ? $"the sync took longer than its timeout ({DurationParser.Format(_settings.Timeout)})"
                : Errors.Describe(e);
            var rejected = e is RevisionRejectedException r ? new RejectedRevision(r.Revision, r.Check, r.Reason, _time.GetUtcNow()) : null;
            return new AttemptOutcome.Failed(started, _time.GetUtcNow(), message, rejected);
        }
    }

    private async Task<AttemptOutcome> SyncAsync(DateTimeOffset started, CancellationToken cancellationToken)
    {
        var snapshot = await _source.PollAsync(new PollContext(SeenRevision), cancellationToken);
        if (snapshot is null)
        {
            return new AttemptOutcome.Unchanged(started, _time.GetUtcNow());
        }

        await using (snapshot)
        {
            var entries = _filter is null ? snapshot.Entries : [.. snapshot.Entries.Where(e => _filter.Match(e.Path).HasMatches)];
            var before = _publisher.Live;
            var manifest = await _publisher.PublishAsync(snapshot, entries, cancellationToken);
            SeenRevision = snapshot.Revision;
            IsFinal = snapshot.IsFinal;
            if (manifest is null)
            {
                return new AttemptOutcome.Unchanged(started, _time.GetUtcNow());
            }

            var change = SignalPayload.Between(before, manifest, _publisher.LivePath);
            return new AttemptOutcome.Changed(started, _time.GetUtcNow(), manifest, new TreeChange(change.Added.Count, change.Changed.Count, change.Removed.Count));
        }
    }
}
