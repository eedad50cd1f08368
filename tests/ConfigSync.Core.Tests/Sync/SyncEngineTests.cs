using ConfigSync.Configuration;
using ConfigSync.Diagnostics;
using ConfigSync.Publishing;
using ConfigSync.Sync;
using ConfigSync.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace ConfigSync.Tests.Sync;

public sealed class SyncEngineTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly SyncMetrics _metrics = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task SyncOnce_OneSyncFails_ReportsExactlyThatOne_AndTheOtherPublishes()
    {
        _temp.Write("good/app.yaml", "a: 1");
        await using var engine = Create(Sync("good", "good"), Sync("broken", "missing"));
        engine.Initialize(signals: false);

        var failures = await engine.SyncOnceAsync(CancellationToken.None);

        Assert.Equal([$"broken: source folder '{_temp.Combine("missing")}' does not exist"], failures);
        Assert.Equal("a: 1", File.ReadAllText(_temp.Combine("root-good/current/app.yaml")));
        Assert.False(engine.IsReady(DateTimeOffset.UtcNow));
        Assert.Equal([true, false], engine.Statuses.Select(s => s.Ready));
    }

    [Fact]
    public async Task SyncOnce_AppNeverReportsTheRevision_NamesItAndTheRollback_AsTheLoopWould()
    {
        using var app = new AppListener();
        app.BodyFor = path => path == "/version" ? "{\"revision\":\"" + (app.Requests.FirstOrDefault(r => r.Path == "/-/reload")?.Revision ?? "none") + "\"}" : null;
        _temp.Write("src/app.yaml", "v: 1");
        var signal = new SignalSettings
        {
            Url = app.Url,
            Verify = new ReloadVerifySettings { Url = new Uri($"http://127.0.0.1:{app.Port}/version"), Field = "revision", Interval = TimeSpan.FromMilliseconds(50), Timeout = TimeSpan.FromSeconds(2), Rollback = true },
        };
        var sync = Sync("app", "src") with { Signal = signal };
        string good;
        await using (var first = Create(sync))
        {
            first.Initialize();
            Assert.Empty(await first.SyncOnceAsync(CancellationToken.None));
            good = first.Statuses.Single().Revision!;
        }

        _temp.Write("src/app.yaml", "v: 2");
        await using var engine = Create(sync);
        engine.Initialize();

        var failures = await engine.SyncOnceAsync(CancellationToken.None);

        var failure = Assert.Single(failures);
        Assert.StartsWith("app: ", failure, StringComparison.Ordinal);
        Assert.Contains("did not report revision", failure, StringComparison.Ordinal);
        Assert.EndsWith($"; rolled back to {good}", failure, StringComparison.Ordinal);
        Assert.Equal("v: 1", File.ReadAllText(_temp.Combine("root-app/current/app.yaml")));
    }

    [Fact]
    public async Task Names_UnknownSync_IsRefusedEverywhere()
    {
        await using var engine = Create(Sync("app", "src") with { Webhook = new WebhookSettings { SecretFile = "/secret" } });

        Assert.True(engine.Contains("app"));
        Assert.False(engine.Contains("other"));
        Assert.True(engine.RequestSync("app"));
        Assert.False(engine.RequestSync("other"));
        Assert.Equal("/secret", engine.WebhookOf("app")?.SecretFile);
        Assert.Null(engine.WebhookOf("other"));
        Assert.False(engine.MatchesPush("other", "refs/heads/main", "main"));
    }

    [Fact]
    public async Task Initialize_StateFolderOfASync_IsPrivate()
    {
        await using var engine = Create(Sync("app", "src"));

        engine.Initialize(signals: false);

        var folder = engine.Settings.StateDirOf(engine.Settings.Syncs[0]);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(folder));
    }

    [Fact]
    public async Task Initialize_StateFolderOnTheVolumeIsALink_FailsNamingIt_AndDeletesNothingThroughIt()
    {
        _temp.Write("victim/keep.txt", "keep");
        Directory.CreateDirectory(_temp.Combine("root-app"));
        File.CreateSymbolicLink(_temp.Combine("root-app/.configsync"), _temp.Combine("victim"));
        await using var engine = Create(Sync("app", "src"));

        var error = Assert.Throws<PublishException>(() => engine.Initialize(signals: false));

        Assert.Contains(".configsync", error.Message, StringComparison.Ordinal);
        Assert.Equal("keep", File.ReadAllText(_temp.Combine("victim/keep.txt")));
    }

    private SyncSettings Sync(string name, string source) =>
        Settings.ForDirectory(_temp.Combine(source), _temp.Combine("root-" + name)) with { Name = name };

    private SyncEngine Create(params SyncSettings[] syncs) =>
        new(new DaemonSettings(new HttpSettings("127.0.0.1", 0, null), new LogSettings("console", "info"), syncs) { StateDir = _temp.Combine("state") }, _metrics, NullLoggerFactory.Instance, TimeProvider.System);
}
