using ConfigSync.Configuration;
using ConfigSync.Diagnostics;
using ConfigSync.Publishing;
using ConfigSync.Sources;
using Microsoft.Extensions.Logging;

namespace ConfigSync.Sync;

/// <summary>All syncs of one daemon, by name.</summary>
public sealed class SyncEngine : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly Dictionary<string, SyncRunner> _runners;
    private int _disposed;

    /// <summary>Creates a runner per sync.</summary>
    public SyncEngine(DaemonSettings settings, SyncMetrics metrics, ILoggerFactory loggerFactory, TimeProvider time)
    {
        Settings = settings;
        Metrics = metrics;
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2), ConnectTimeout = TimeSpan.FromSeconds(5) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _runners = new Dictionary<string, SyncRunner>(StringComparer.Ordinal);
        foreach (var sync in settings.Syncs)
        {
            var logger = loggerFactory.CreateLogger("ConfigSync.Sync");
            var name = sync.Name;
            var meter = new SourceMeter(name, metrics);
            var context = new SourceContext(name, settings.StateDirOf(sync), loggerFactory, time) { RequestSync = () => RequestSync(name), MaxEntries = sync.MaxFiles, Meter = meter };
            var source = sync.Source.Factory.Create(sync.Source.Options, context);
            var publisher = new TreePublisher(sync, source.Describe, time, loggerFactory.CreateLogger("ConfigSync.Publishing"), settings.StateDirOf(sync));
            _runners[name] = new SyncRunner(sync, source, publisher, metrics, time, logger) { Meter = meter };
        }

        metrics.Registry.AddBeforeCollectCallback(() => metrics.Ready.Set(IsReady(time.GetUtcNow()) ? 1 : 0));
        Time = time;
    }

    /// <summary>The settings.</summary>
    public DaemonSettings Settings { get; }

    /// <summary>The metrics.</summary>
    public SyncMetrics Metrics { get; }

    /// <summary>The clock.</summary>
    public TimeProvider Time { get; }

    /// <summary>Each sync's status.</summary>
    public IReadOnlyList<SyncStatus> Statuses => [.. _runners.Values.Select(r => r.Status)];

    internal IReadOnlyCollection<SyncRunner> Runners => _runners.Values;

    /// <summary>Prepares every volume (crash leftovers, verified live trees) and, unless <paramref name="signals"/> is false, signalling.</summary>
    /// <exception cref="IOException">The private state folder cannot be made (named).</exception>
    /// <exception cref="Publishing.PublishException">A folder of ConfigSync's on a volume is a link or a file (named).</exception>
    public void Initialize(bool signals = true)
    {
        Publishing.Libc.RaiseOpenFileLimit();
        foreach (var sync in Settings.Syncs)
        {
            PrivateFolder.Create(Settings.StateDir, Settings.StateDirOf(sync));
        }

        foreach (var runner in _runners.Values)
        {
            runner.Initialize(signals ? _http : null);
        }
    }

    /// <summary>Syncs every sync once, in parallel, and waits for the app to take each new tree (as the loop does, a rollback included); returns one line per failure.</summary>
    public async Task<IReadOnlyList<string>> SyncOnceAsync(CancellationToken cancellationToken)
    {
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Task.WhenAll(_runners.Values.Select(async runner =>
        {
            var problem = await runner.AttemptAsync(cancellationToken) is AttemptOutcome.Failed failed ? failed.Error : await runner.SettleAsync(cancellationToken);
            if (problem is not null)
            {
                failures.Add($"{runner.Name}: {problem}");
            }
        }));
        return [.. failures.Order(StringComparer.Ordinal)];
    }

    /// <summary>Whether every sync has a fresh live tree.</summary>
    public bool IsReady(DateTimeOffset now) => _runners.Values.All(r => r.IsReady(now));

    /// <summary>The names of syncs whose loop is stuck.</summary>
    public IReadOnlyList<string> Wedged(DateTimeOffset now) => [.. _runners.Values.Where(r => r.IsWedged(now)).Select(r => r.Name)];

    /// <summary>Queues a sync now; false when the name is unknown.</summary>
    public bool RequestSync(string name)
    {
        if (!_runners.TryGetValue(name, out var runner))
        {
            return false;
        }

        runner.RequestSync();
        return true;
    }

    /// <summary>The webhook settings of a sync, or null when it has none (or does not exist).</summary>
    public WebhookSettings? WebhookOf(string name) => _runners.TryGetValue(name, out var runner) ? runner.Settings.Webhook : null;

    /// <summary>Whether a push of <paramref name="pushedRef"/> concerns the sync (its source decides; see <see cref="IConfigSource.MatchesPush"/>).</summary>
    public bool MatchesPush(string name, string pushedRef, string? defaultBranch) =>
        _runners.TryGetValue(name, out var runner) && runner.Source.MatchesPush(pushedRef, defaultBranch);

    /// <summary>Whether a sync of that name exists.</summary>
    public bool Contains(string name) => _runners.ContainsKey(name);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        foreach (var runner in _runners.Values)
        {
            await runner.DisposeAsync();
        }

        _http.Dispose();
    }
}
