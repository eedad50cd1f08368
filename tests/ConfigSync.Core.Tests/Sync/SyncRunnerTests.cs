using System.Text.Json;
using ConfigSync.Configuration;
using ConfigSync.Diagnostics;
using ConfigSync.Publishing;
using ConfigSync.Sources;
using ConfigSync.Sources.Dir;
using ConfigSync.Sync;
using ConfigSync.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace ConfigSync.Tests.Sync;

public sealed class SyncRunnerTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly SyncMetrics _metrics = new();

    private string Source => _temp.Combine("src");

    private string Root => _temp.Combine("root");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Attempt_FirstSync_PublishesAndBecomesReady_ThenUnchanged()
    {
        _temp.Write("src/app.yaml", "a: 1");
        await using var runner = Create(out _);
        runner.Initialize(null);
        Assert.False(runner.IsReady(DateTimeOffset.UtcNow));

        Assert.True(await runner.AttemptAsync(CancellationToken.None));
        Assert.True(await runner.AttemptAsync(CancellationToken.None));

        Assert.True(runner.IsReady(DateTimeOffset.UtcNow));
        Assert.Equal("a: 1", File.ReadAllText(Path.Combine(Root, "current", "app.yaml")));
        Assert.Equal(1, _metrics.SyncTotal.WithLabels("test", "changed").Value);
        Assert.Equal(1, _metrics.SyncTotal.WithLabels("test", "unchanged").Value);
        Assert.Equal(1, runner.Status.Files);
    }

    [Fact]
    public async Task Attempt_SourceMissing_FailsWithNamedError_AndIsNotReady()
    {
        await using var runner = Create(out _);
        runner.Initialize(null);

        Assert.False(await runner.AttemptAsync(CancellationToken.None));

        Assert.False(runner.IsReady(DateTimeOffset.UtcNow));
        Assert.Equal($"source folder '{Source}' does not exist", runner.Status.LastError);
        Assert.Equal(1, runner.Status.ConsecutiveFailures);
        Assert.Equal(1, _metrics.SyncTotal.WithLabels("test", "error").Value);
    }

    [Fact]
    public async Task Attempt_IncludeAndExclude_FilterPublishedFiles()
    {
        _temp.Write("src/app.yaml", "1");
        _temp.Write("src/nested/db.yaml", "2");
        _temp.Write("src/nested/notes.txt", "3");
        _temp.Write("src/secret.yaml", "4");
        await using var runner = Create(out _, sync: s => s with { Include = ["**/*.yaml"], Exclude = ["secret.yaml"] });
        runner.Initialize(null);

        await runner.AttemptAsync(CancellationToken.None);

        var published = Directory.EnumerateFiles(Path.Combine(Root, "current"), "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(Path.Combine(Root, "current"), f)).Order().ToList();
        Assert.Equal(["app.yaml", "nested/db.yaml"], published);
    }

    [Fact]
    public async Task Attempt_DefaultInclude_PublishesEveryFile_DotFilesAndDeepPathsToo()
    {
        // The default (include ** and no exclude) skips the matcher: it must keep what ** keeps.
        string[] paths = [".env", "app.yaml", ".hidden/x.json", "a/b/c/d/e.txt", "with space/f g.txt", "a/.git-like/config"];
        foreach (var path in paths)
        {
            _temp.Write("src/" + path, path);
        }

        await using var runner = Create(out _);
        runner.Initialize(null);

        await runner.AttemptAsync(CancellationToken.None);

        var live = Path.Combine(Root, "current");
        var published = Directory.EnumerateFiles(live, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(live, f)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(paths.Order(StringComparer.Ordinal), published);
    }

    [Fact]
    public async Task Run_TriggersDuringAnAttempt_CoalesceIntoExactlyOneMore()
    {
        _temp.Write("src/a", "1");
        await using var runner = Create(out var source, gated: true);
        runner.Initialize(null);
        using var stop = new CancellationTokenSource();
        var loop = Task.Run(() => runner.RunAsync(stop.Token));
        await WaitUntil(() => source.Polls == 1);

        for (var i = 0; i < 10; i++)
        {
            runner.RequestSync();
        }

        source.Release();
        await WaitUntil(() => source.Polls == 2);
        source.Release();
        await Task.Delay(500);

        Assert.Equal(2, source.Polls);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => loop);
    }

    [Fact]
    public async Task Attempt_SlowSource_TimesOutWithClearError()
    {
        await using var runner = Create(out _, sync: s => s with { Timeout = TimeSpan.FromMilliseconds(200) }, gated: true);
        runner.Initialize(null);

        Assert.False(await runner.AttemptAsync(CancellationToken.None));

        Assert.Equal("the sync took longer than its timeout (200ms)", runner.Status.LastError);
        Assert.False(runner.Status.Syncing);
    }

    [Fact]
    public async Task Attempt_MaxFailuresReached_CallsTheExitHook()
    {
        await using var runner = Create(out _, sync: s => s with { MaxFailures = 3 });
        runner.Initialize(null);
        var calls = 0;
        runner.MaxFailuresReached = () => calls++;

        await runner.AttemptAsync(CancellationToken.None);
        await runner.AttemptAsync(CancellationToken.None);
        Assert.Equal(0, calls);
        await runner.AttemptAsync(CancellationToken.None);

        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Ready_TurnsFalsePastMaxStaleness_AndBackAfterSuccess()
    {
        _temp.Write("src/a", "1");
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var runner = Create(out _, time, s => s with { MaxStaleness = TimeSpan.FromMinutes(5) });
        runner.Initialize(null);
        await runner.AttemptAsync(CancellationToken.None);
        Assert.True(runner.IsReady(time.GetUtcNow()));

        time.Advance(TimeSpan.FromMinutes(6));
        Assert.False(runner.IsReady(time.GetUtcNow()));

        await runner.AttemptAsync(CancellationToken.None);
        Assert.True(runner.IsReady(time.GetUtcNow()));
    }

    [Fact]
    public async Task Initialize_VerifiedTreeOnVolume_IsReadyBeforeAnySync()
    {
        _temp.Write("src/a", "1");
        await using (var first = Create(out _))
        {
            first.Initialize(null);
            await first.AttemptAsync(CancellationToken.None);
        }

        Directory.Delete(Source, recursive: true);
        await using var restarted = Create(out _);
        restarted.Initialize(null);

        Assert.True(restarted.IsReady(DateTimeOffset.UtcNow));
        Assert.NotNull(restarted.Status.Revision);
    }

    [Fact]
    public async Task IsWedged_AttemptFarPastTimeout_IsReported()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var runner = Create(out _, time, s => s with { Timeout = TimeSpan.FromSeconds(10) }, gated: true);
        runner.Initialize(null);
        var attempt = runner.AttemptAsync(CancellationToken.None);
        Assert.False(runner.IsWedged(time.GetUtcNow()));

        Assert.True(runner.IsWedged(time.GetUtcNow() + TimeSpan.FromSeconds(41)));
        time.Advance(TimeSpan.FromSeconds(11));
        Assert.False(await attempt);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(4, 8)]
    [InlineData(6, 30)]
    [InlineData(50, 30)]
    public void Backoff_GrowsExponentiallyUpToTheInterval(int failures, int seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), Backoff.AfterFailures(failures, TimeSpan.FromSeconds(30), 0.5));
        Assert.Equal(TimeSpan.FromSeconds(seconds * 0.8), Backoff.AfterFailures(failures, TimeSpan.FromSeconds(30), 0));
    }

    [Fact]
    public async Task Attempt_RevisionRejectedByACheck_ShowsItInStatusAndMetrics_DoesNotSignal_ThenAGoodOnePublishes()
    {
        using var app = new AppListener();
        _temp.Write("src/app.json", """{"v": 1}""");
        await using var runner = Create(out _, sync: s => s with
        {
            Validate = [new CheckSettings { Type = CheckType.Json, Files = ["**/*.json"] }],
            Signal = new SignalSettings { Url = app.Url },
        });
        runner.Initialize(new HttpClient());
        Assert.True(await runner.AttemptAsync(CancellationToken.None));
        await app.WaitForAsync(r => r.Body.Contains("app.json", StringComparison.Ordinal), TimeSpan.FromSeconds(10));

        _temp.Write("src/app.json", """{"v": 2,}""");
        Assert.False(await runner.AttemptAsync(CancellationToken.None));

        var status = runner.Status;
        Assert.NotNull(status.Rejected);
        Assert.Equal("json", status.Rejected.Check);
        Assert.StartsWith("app.json: not valid JSON at line 1", status.Rejected.Reason, StringComparison.Ordinal);
        Assert.NotEqual(status.Revision, status.Rejected.Revision);
        Assert.Contains("rejected by the json check", status.LastError, StringComparison.Ordinal);
        Assert.True(runner.IsReady(DateTimeOffset.UtcNow));
        Assert.Equal("""{"v": 1}""", File.ReadAllText(Path.Combine(Root, "current", "app.json")));
        Assert.Equal(1, _metrics.RejectedTotal.WithLabels("test", "json").Value);
        Assert.Equal(1, _metrics.RejectedRevision.WithLabels("test", status.Rejected.Revision, "json").Value);
        await Task.Delay(300);
        Assert.Single(app.Requests);

        _temp.Write("src/app.json", """{"v": 3}""");
        Assert.True(await runner.AttemptAsync(CancellationToken.None));

        Assert.Null(runner.Status.Rejected);
        Assert.DoesNotContain(_metrics.RejectedRevision.GetAllLabelValues(), l => l[0] == "test");
        await app.WaitForAsync(r => r.Revision == runner.Status.Revision, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Verify_AppReportsTheNewRevision_IsVerified()
    {
        using var app = new AppListener();
        app.BodyFor = path => path == "/version" ? "{\"config\":{\"revision\":\"" + LastReloaded(app) + "\"}}" : null;
        _temp.Write("src/app.yaml", "v: 1");
        await using var runner = Create(out _, sync: s => s with { Signal = new SignalSettings { Url = app.Url, Verify = Verify(app, rollback: false) } });
        runner.Initialize(new HttpClient());

        Assert.True(await runner.AttemptAsync(CancellationToken.None));
        await WaitUntil(() => runner.Status.Reload?.State == "verified");

        Assert.Equal(runner.Status.Revision, runner.Status.Reload!.Revision);
        Assert.Equal(1, _metrics.ReloadVerified.WithLabels("test").Value);
        Assert.Contains(app.Requests, r => r.Path == "/version");
    }

    [Fact]
    public async Task Verify_WithSkipFirst_TheUnsignalledFirstRevisionIsNotLeftVerifying_AndTheNextIsVerified()
    {
        using var app = new AppListener();
        app.BodyFor = path => path == "/version" ? "{\"config\":{\"revision\":\"" + LastReloaded(app) + "\"}}" : null;
        _temp.Write("src/app.yaml", "v: 1");
        await using var runner = Create(out _, sync: s => s with { Signal = new SignalSettings { Url = app.Url, SkipFirst = true, Verify = Verify(app, rollback: false) } });
        runner.Initialize(new HttpClient());

        Assert.True(await runner.AttemptAsync(CancellationToken.None));
        Assert.True(await runner.WaitForSignalsAsync(CancellationToken.None));

        // The first tree was not signalled (skipFirst), so nothing was verified: no state, never "verifying" for ever.
        Assert.Null(runner.Status.Reload);
        Assert.DoesNotContain(app.Requests, r => r.Path == "/-/reload");

        _temp.Write("src/app.yaml", "v: 2");
        Assert.True(await runner.AttemptAsync(CancellationToken.None));
        await WaitUntil(() => runner.Status.Reload?.State == "verified");
        Assert.Equal(runner.Status.Revision, runner.Status.Reload!.Revision);
    }

    [Fact]
    public async Task Verify_AppNeverReportsTheRevision_FailsAndRollsBack_AndTheRevisionIsNotRetriedUntilTheSourceMoves()
    {
        using var app = new AppListener();
        var stuckAt = (string?)null;
        app.BodyFor = path => path == "/version" ? "{\"config\":{\"revision\":\"" + (stuckAt ??= LastReloaded(app)) + "\"}}" : null;
        _temp.Write("src/app.yaml", "v: 1");
        await using var runner = Create(out _, sync: s => s with { Signal = new SignalSettings { Url = app.Url, Verify = Verify(app, rollback: true) } });
        runner.Initialize(new HttpClient());
        Assert.True(await runner.AttemptAsync(CancellationToken.None));
        await WaitUntil(() => runner.Status.Reload?.State == "verified");
        var good = runner.Status.Revision!;
        var goodTarget = new FileInfo(Path.Combine(Root, "current")).LinkTarget;

        _temp.Write("src/app.yaml", "v: 2 (the app cannot apply this)");
        Assert.True(await runner.AttemptAsync(CancellationToken.None));
        var bad = runner.Status.Revision!;
        await WaitUntil(() => runner.Status.Reload?.State == "failed");
        var unchanged = await runner.AttemptAsync(CancellationToken.None);

        Assert.True(unchanged);
        Assert.NotEqual(good, bad);
        Assert.Equal(good, runner.Status.Revision);
        Assert.Equal(goodTarget, new FileInfo(Path.Combine(Root, "current")).LinkTarget);
        Assert.Equal("v: 1", File.ReadAllText(Path.Combine(Root, "current", "app.yaml")));
        Assert.Equal("rolledBack", runner.Status.Reload!.State);
        Assert.Equal(bad, runner.Status.Reload.Revision);
        Assert.Contains($"did not report revision {bad}", runner.Status.Reload.Error, StringComparison.Ordinal);
        Assert.Equal(("reload", bad), (runner.Status.Rejected!.Check, runner.Status.Rejected.Revision));
        Assert.Equal(1, _metrics.ReloadFailed.WithLabels("test").Value);
        Assert.Equal(1, _metrics.RollbackTotal.WithLabels("test").Value);
        Assert.Equal(1, _metrics.SyncTotal.WithLabels("test", "unchanged").Value);
        await app.WaitForAsync(r => r.Path == "/-/reload" && r.Revision == good && r.Body.Contains("\"previousRevision\":\"" + bad, StringComparison.Ordinal), TimeSpan.FromSeconds(10));

        _temp.Write("src/app.yaml", "v: 3");
        Assert.True(await runner.AttemptAsync(CancellationToken.None));
        Assert.Equal("v: 3", File.ReadAllText(Path.Combine(Root, "current", "app.yaml")));
        Assert.Null(runner.Status.Rejected);
    }

    private static string LastReloaded(AppListener app) => app.Requests.LastOrDefault(r => r.Path == "/-/reload")?.Revision ?? "none";

    private static ReloadVerifySettings Verify(AppListener app, bool rollback) => new()
    {
        Url = new Uri($"http://127.0.0.1:{app.Port}/version"),
        Field = "config.revision",
        Interval = TimeSpan.FromMilliseconds(50),
        Timeout = TimeSpan.FromSeconds(3), // generous: the first answer can be slow on a loaded machine, and a stuck app costs the test this long
        Rollback = rollback,
    };

    [Fact]
    public async Task ErrorFile_HoldsTheErrorWhileFailing_AndGoesOnSuccess_TouchFileMovesOnlyWhenSomethingPublished()
    {
        var touch = _temp.Combine("root/touched");
        var error = _temp.Combine("root/state/error.json");
        await using var runner = Create(out _, sync: s => s with { TouchFile = touch, ErrorFile = error });
        runner.Initialize(null);

        Assert.False(await runner.AttemptAsync(CancellationToken.None));
        Assert.False(await runner.AttemptAsync(CancellationToken.None));
        using (var json = JsonDocument.Parse(File.ReadAllText(error)))
        {
            Assert.Equal($"source folder '{Source}' does not exist", json.RootElement.GetProperty("Err").GetString());
            Assert.Equal(2, json.RootElement.GetProperty("Args").GetProperty("failCount").GetInt32());
        }

        Assert.False(File.Exists(touch));

        _temp.Write("src/app.yaml", "a: 1");
        Assert.True(await runner.AttemptAsync(CancellationToken.None));
        Assert.False(File.Exists(error));
        Assert.True(File.Exists(touch));

        var old = new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(touch, old);
        Assert.True(await runner.AttemptAsync(CancellationToken.None));
        Assert.Equal(old, File.GetLastWriteTimeUtc(touch));

        _temp.Write("src/app.yaml", "a: 2");
        Assert.True(await runner.AttemptAsync(CancellationToken.None));
        Assert.NotEqual(old, File.GetLastWriteTimeUtc(touch));
    }

    [Fact]
    public async Task LastChanges_CountsAddedChangedAndRemovedAgainstTheTreeBefore()
    {
        _temp.Write("src/a.yaml", "1");
        _temp.Write("src/b.yaml", "1");
        _temp.Write("src/c.yaml", "1");
        await using var runner = Create(out _);
        runner.Initialize(null);
        Assert.True(await runner.AttemptAsync(CancellationToken.None));
        Assert.Equal(new TreeChange(3, 0, 0), runner.Status.LastChanges);

        _temp.Write("src/b.yaml", "2");
        File.Delete(Path.Combine(Source, "c.yaml"));
        _temp.Write("src/d.yaml", "1");
        _temp.Write("src/e.yaml", "1");
        Assert.True(await runner.AttemptAsync(CancellationToken.None));

        Assert.Equal(new TreeChange(2, 1, 1), runner.Status.LastChanges);
        Assert.Null(runner.Status.Transfer);
    }

    [Fact]
    public void Jittered_StaysWithinTheConfiguredSpread()
    {
        Assert.Equal(TimeSpan.FromSeconds(27), Backoff.Jittered(TimeSpan.FromSeconds(30), 0.1, 0));
        Assert.Equal(TimeSpan.FromSeconds(33), Backoff.Jittered(TimeSpan.FromSeconds(30), 0.1, 1));
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 10 s");
            await Task.Delay(10);
        }
    }

    private SyncRunner Create(out GatedSource source, TimeProvider? time = null, Func<SyncSettings, SyncSettings>? sync = null, bool gated = false)
    {
        time ??= TimeProvider.System;
        var settings = Settings.ForDirectory(Source, Root, sync: sync);
        var inner = new DirectorySourceFactory() as ISourceFactory;
        source = new GatedSource(inner.Create(settings.Source.Options, new SourceContext("test", Root, NullLoggerFactory.Instance, time))) { Open = !gated };

        var publisher = new TreePublisher(settings, source.Describe, time, NullLogger.Instance);
        return new SyncRunner(settings, source, publisher, _metrics, time, NullLogger.Instance);
    }
}
