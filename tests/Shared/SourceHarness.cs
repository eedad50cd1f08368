using ConfigSync.Configuration;
using ConfigSync.Publishing;
using ConfigSync.Sources;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ConfigSync.Tests.TestSupport;

/// <summary>One sync without the loop: the source's factory reads the settings (so their validation runs),
/// the source polls, the real publisher publishes into a real folder.</summary>
public sealed class SourceHarness : IAsyncDisposable
{
    private const string SyncName = "test";

    private readonly IConfigSource _source;

    private SourceHarness(string root, IConfigSource source, TreePublisher publisher)
    {
        Root = root;
        _source = source;
        Publisher = publisher;
    }

    public string Root { get; }

    public string Live => Path.Combine(Root, "current");

    /// <summary>The folder the source keeps its state in (the sync is named "test"): a private folder beside the root, as stateDir is.</summary>
    public string Cache => CacheOf(Root);

    internal TreePublisher Publisher { get; }

    public IConfigSource Source => _source;

    public static SourceHarness Create(ISourceFactory factory, string root, Dictionary<string, string?> source, int maxEntries = int.MaxValue)
    {
        var errors = new List<string>();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(source).Build();
        var reader = new SettingsReader(configuration, "source", errors);
        var options = factory.ReadOptions(reader, root);
        reader.Known("type");
        reader.ReportUnknownKeys();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        var logs = new List<string>();
        var loggerFactory = LoggerFactory.Create(b => b.AddProvider(new ListLoggerProvider(logs)));
        var settings = new SyncSettings
        {
            Name = SyncName,
            Source = new SourceDefinition(factory.Type, factory, options),
            Target = new TargetSettings { Root = root },
        };
        var cache = CacheOf(root);
        Directory.CreateDirectory(cache, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var created = factory.Create(options, new SourceContext(SyncName, cache, loggerFactory, TimeProvider.System) { MaxEntries = maxEntries });
        var publisher = new TreePublisher(settings, created.Describe, TimeProvider.System, NullLogger.Instance);
        publisher.Recover();
        var harness = new SourceHarness(root, created, publisher);
        harness._logs = logs;
        return harness;
    }

    private static string CacheOf(string root) => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(root).TrimEnd('/'))!, Path.GetFileName(Path.GetFullPath(root).TrimEnd('/')) + ".state", SyncName);

    private List<string> _logs = [];

    public IReadOnlyList<string> LogLines => _logs;

    public string Describe => _source.Describe;

    /// <summary>Polls and publishes; returns the snapshot's revision, or null when the source reported no change.</summary>
    public async Task<SourceSnapshot?> PollAsync(CancellationToken cancellationToken = default) =>
        await _source.PollAsync(new PollContext(Publisher.Live?.Revision), cancellationToken);

    public async Task<Manifest?> SyncAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await PollAndPublishAsync(cancellationToken);
        }
        catch (Exception e)
        {
            Captured.Record(e.ToString());
            throw;
        }
    }

    private async Task<Manifest?> PollAndPublishAsync(CancellationToken cancellationToken)
    {
        var snapshot = await PollAsync(cancellationToken);
        if (snapshot is null)
        {
            return null;
        }

        await using (snapshot)
        {
            return await Publisher.PublishAsync(snapshot, snapshot.Entries, cancellationToken);
        }
    }

    public string Read(string path) => File.ReadAllText(Path.Combine(Live, path));

    public ValueTask DisposeAsync()
    {
        Captured.Record(string.Join('\n', _logs) + "\n" + _source.Describe);
        return _source.DisposeAsync();
    }

    private sealed class ListLoggerProvider(List<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new ListLogger(lines);

        public void Dispose()
        {
        }
    }

    private sealed class ListLogger(List<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (lines)
            {
                lines.Add($"{logLevel}: {formatter(state, exception)}");
            }
        }
    }
}
