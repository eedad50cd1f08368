using System.Text.Json;
using System.Threading.Channels;
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

        var first = Assert.IsType<AttemptOutcome.Changed>(await runner.AttemptAsync(CancellationToken.None));
        Assert.IsType<AttemptOutcome.Unchanged>(await runner.AttemptAsync(CancellationToken.None));

        Assert.True(runner.IsReady(DateTimeOffset.UtcNow));
        Assert.Equal("a: 1", File.ReadAllText(Path.Combine(Root, "current", "app.yaml")));
        Assert.Equal(1, _metrics.SyncTotal.WithLabels("test", "changed").Value);
        Assert.Equal(1, _metrics.SyncTotal.WithLabels("test", "unchanged").Value);
        Assert.Equal(1, runner.Status.Files);
        Assert.Equal(runner.Status.Revision, first.Manifest.Revision);
        Assert.Equal(new TreeChange(1, 0, 0), first.Change);
    }

    [Fact]
    public async Task Attempt_SourceMissing_FailsWithNamedError_AndIsNotReady()
    {
        await using var runner = Create(out _);
        runner.Initialize(null);

        Assert.IsType<AttemptOutcome.Failed>(await runner.AttemptAsync(CancellationToken.None));

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
        var clock = new SteppedClock();
        await using var runner = Create(out var source, clock, gated: true);
        runner.Initialize(null);
        var outcomes = Channel.CreateUnbounded<AttemptOutcome>();
        using var stop = new CancellationTokenSource();
        var loop = Task.Run(() => runner.RunAsync(o => outcomes.Writer.WriteAsync(o).AsTask(), stop.Token));
        await source.WaitForPollAsync(1);

        for (var i = 0; i < 10; i++)
        {
            runner.RequestSync();
        }

        source.Release();
        await outcomes.Reader.ReadAsync();
        await source.WaitForPollAsync(2);
        source.Release();
        await outcomes.Reader.ReadAsync();

        // The fake clock never moves, so only a pending request could start another attempt: there is none left.
        Assert.False(runner.SyncRequested);
        Assert.Equal(2, source.Polls);

        // The next attempt comes when the interval has passed, not before.
        Assert.Equal(runner.Settings.Interval, await clock.AdvanceWhenWaitingAsync(d => d == runner.Settings.Interval));
        await source.WaitForPollAsync(3);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => loop);
    }

    [Fact]
    public async Task Attempt_SlowSource_TimesOutWithClearError()
    {
        await using var runner = Create(out _, sync: s => s with { Timeout = TimeSpan.FromMilliseconds(200) }, gated: true);
        runner.Initialize(null);

        Assert.IsType<AttemptOutcome.Failed>(await runner.AttemptAsync(CancellationToken.None));

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
        Assert.IsType<AttemptOutcome.Failed>(await attempt);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(4, 8)]
    [InlineData(6, 30)]
    [InlineData(50, 30)]
    public void Backoff_FullJitter_UnderACeilingThatGrowsExponentiallyUpToTheInterval(int failures, int seconds)
    {
        var interval = TimeSpan.FromSeconds(30);

        Assert.Equal(TimeSpan.FromSeconds(seconds), Backoff.Ceiling(failures, interval));
        Assert.Equal(TimeSpan.FromSeconds(seconds), Backoff.AfterFailures(failures, interval, 1));
        Assert.Equal(Backoff.ShortestRetry, Backoff.AfterFailures(failures, interval, 0));
        Assert.Equal(Backoff.ShortestRetry + ((TimeSpan.FromSeconds(seconds) - Backoff.ShortestRetry) / 2), Backoff.AfterFailures(failures, interval, 0.5));
    }

    [Fact]
    public void Backoff_WithAnIntervalShorterThanTheShortestRetry_WaitsTheInterval()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(50), Backoff.AfterFailures(3, TimeSpan.FromMilliseconds(50), 0));
        Assert.Equal(TimeSpan.FromMilliseconds(50), Backoff.AfterFailures(3, TimeSpan.FromMilliseconds(50), 1));
    }

    [Fact]
    public void Phase_IsAUniformPointOfTheInterval()
    {
        Assert.Equal(TimeSpan.Zero, Backoff.Phase(TimeSpan.FromSeconds(30), 0));
        Assert.Equal(TimeSpan.FromSeconds(7.5), Backoff.Phase(TimeSpan.FromSeconds(30), 0.25));
    }

    [Fact]
    public async Task Run_AfterTheFirstSync_TheNextPollComesWithinOneInterval_ThenEveryIntervalWithJitter()
    {
        _temp.Write("src/a", "1");
        var clock = new SteppedClock();
        await using var runner = Create(out var source, clock, s => s with { Interval = TimeSpan.FromSeconds(100), Jitter = 0.1 });
        runner.Initialize(null);
        using var stop = new CancellationTokenSource();
        var loop = Task.Run(() => runner.RunAsync(null, stop.Token));
        var waits = new List<TimeSpan>();

        for (var poll = 1; poll <= 8; poll++)
        {
            await source.WaitForPollAsync(poll);
            // The loop's wait, not the attempt's time limit (2 minutes).
            waits.Add(await clock.AdvanceWhenWaitingAsync(d => d < runner.Settings.Timeout));
        }

        // The first wait is anywhere in the interval (the phase), the next ones the interval ± 10%.
        Assert.InRange(waits[0], TimeSpan.Zero, TimeSpan.FromSeconds(100));
        Assert.All(waits.Skip(1), w => Assert.InRange(w, TimeSpan.FromSeconds(90), TimeSpan.FromSeconds(110)));
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => loop);
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
        Assert.True((await runner.AttemptAsync(CancellationToken.None)).Succeeded);
        Assert.Null(await runner.SettleAsync(CancellationToken.None));
        Assert.Contains("app.json", Assert.Single(app.Requests).Body, StringComparison.Ordinal);

        _temp.Write("src/app.json", """{"v": 2,}""");
        Assert.IsType<AttemptOutcome.Failed>(await runner.AttemptAsync(CancellationToken.None));

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
        // Settling waits for every signal handed over: had the refused revision been signalled, the app would have it now.
        Assert.Null(await runner.SettleAsync(CancellationToken.None));
        Assert.Single(app.Requests);

        _temp.Write("src/app.json", """{"v": 3}""");
        Assert.True((await runner.AttemptAsync(CancellationToken.None)).Succeeded);

        Assert.Null(runner.Status.Rejected);
        Assert.DoesNotContain(_metrics.RejectedRevision.GetAllLabelValues(), l => l[0] == "test");
        Assert.Null(await runner.SettleAsync(CancellationToken.None));
        Assert.Equal(runner.Status.Revision, app.Requests.Last().Revision);
    }

    [Fact]
    public async Task Verify_AppReportsTheNewRevision_IsVerified()
    {
        using var app = new AppListener();
        app.BodyFor = path => path == "/version" ? "{\"config\":{\"revision\":\"" + LastReloaded(app) + "\"}}" : null;
        _temp.Write("src/app.yaml", "v: 1");
        await using var runner = Create(out _, sync: s => s with { Signal = new SignalSettings { Url = app.Url, Verify = Verify(app, rollback: false) } });
        runner.Initialize(new HttpClient());

        Assert.True((await runner.AttemptAsync(CancellationToken.None)).Succeeded);
        Assert.Equal(ReloadPhase.Verifying, runner.Status.Reload?.State);
        Assert.Null(await runner.SettleAsync(CancellationToken.None));

        Assert.Equal(ReloadPhase.Verified, runner.Status.Reload?.State);
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

        Assert.True((await runner.AttemptAsync(CancellationToken.None)).Succeeded);
        Assert.Null(await runner.SettleAsync(CancellationToken.None));

        // The first tree was not signalled (skipFirst), so nothing was verified: no state, never "verifying" for ever.
        Assert.Null(runner.Status.Reload);
        Assert.DoesNotContain(app.Requests, r => r.Path == "/-/reload");

        _temp.Write("src/app.yaml", "v: 2");
        Assert.True((await runner.AttemptAsync(CancellationToken.None)).Succeeded);
        Assert.Null(await runner.SettleAsync(CancellationToken.None));
        Assert.Equal(ReloadPhase.Verified, runner.Status.Reload?.State);
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
        Assert.True((await runner.AttemptAsync(CancellationToken.None)).Succeeded);
        Assert.Null(await runner.SettleAsync(CancellationToken.None));
        var good = runner.Status.Revision!;
        var goodTarget = new FileInfo(Path.Combine(Root, "current")).LinkTarget;

        _temp.Write("src/app.yaml", "v: 2 (the app cannot apply this)");
        Assert.True((await runner.AttemptAsync(CancellationToken.None)).Succeeded);
        var bad = runner.Status.Revision!;
        var problem = await runner.SettleAsync(CancellationToken.None);
        Assert.IsType<AttemptOutcome.Unchanged>(await runner.AttemptAsync(CancellationToken.None));

        Assert.Contains($"did not report revision {bad}", problem, StringComparison.Ordinal);
        Assert.EndsWith($"; rolled back to {good}", problem, StringComparison.Ordinal);
        Assert.NotEqual(good, bad);
        Assert.Equal(good, runner.Status.Revision);
        Assert.Equal(goodTarget, new FileInfo(Path.Combine(Root, "current")).LinkTarget);
        Assert.Equal("v: 1", File.ReadAllText(Path.Combine(Root, "current", "app.yaml")));
        // The restored tree was signalled again and the app reports it: verified, while the refused revision stays named.
        Assert.Equal((ReloadPhase.Verified, good), (runner.Status.Reload!.State, runner.Status.Reload.Revision));
        Assert.Equal(("reload", bad), (runner.Status.Rejected!.Check, runner.Status.Rejected.Revision));
        Assert.Contains($"did not report revision {bad}", runner.Status.Rejected.Reason, StringComparison.Ordinal);
        Assert.Equal(1, _metrics.ReloadFailed.WithLabels("test").Value);
        Assert.Equal(1, _metrics.RollbackTotal.WithLabels("test").Value);
        Assert.Equal(1, _metrics.SyncTotal.WithLabels("test", "unchanged").Value);
        Assert.Contains(app.Requests, r => r.Path == "/-/reload" && r.Revision == good && r.Body.Contains("\"previousRevision\":\"" + bad, StringComparison.Ordinal));

        _temp.Write("src/app.yaml", "v: 3");
        Assert.True((await runner.AttemptAsync(CancellationToken.None)).Succeeded);
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

        Assert.IsType<AttemptOutcome.Failed>(await runner.AttemptAsync(CancellationToken.None));
        Assert.IsType<AttemptOutcome.Failed>(await runner.AttemptAsync(CancellationToken.None));
        using (var json = JsonDocument.Parse(File.ReadAllText(error)))
        {
            Assert.Equal($"source folder '{Source}' does not exist", json.RootElement.GetProperty("Err").GetString());
            Assert.Equal(2, json.RootElement.GetProperty("Args").GetProperty("failCount").GetInt32());
        }

        Assert.False(File.Exists(touch));

        _temp.Write("src/app.yaml", "a: 1");
        Assert.True((await runner.AttemptAsync(CancellationToken.None)).Succeeded);
        Assert.False(File.Exists(error));
        Assert.True(File.Exists(touch));

        var old = new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(touch, old);
        Assert.True((await runner.AttemptAsync(CancellationToken.None)).Succeeded);
        Assert.Equal(old, File.GetLastWriteTimeUtc(touch));

        _temp.Write("src/app.yaml", "a: 2");
        Assert.True((await runner.AttemptAsync(CancellationToken.None)).Succeeded);
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
        Assert.True((await runner.AttemptAsync(CancellationToken.None)).Succeeded);
        Assert.Equal(new TreeChange(3, 0, 0), runner.Status.LastChanges);

        _temp.Write("src/b.yaml", "2");
        File.Delete(Path.Combine(Source, "c.yaml"));
        _temp.Write("src/d.yaml", "1");
        _temp.Write("src/e.yaml", "1");
        Assert.True((await runner.AttemptAsync(CancellationToken.None)).Succeeded);

        Assert.Equal(new TreeChange(2, 1, 1), runner.Status.LastChanges);
        Assert.Null(runner.Status.Transfer);
    }

    [Fact]
    public void Jittered_StaysWithinTheConfiguredSpread()
    {
        Assert.Equal(TimeSpan.FromSeconds(27), Backoff.Jittered(TimeSpan.FromSeconds(30), 0.1, 0));
        Assert.Equal(TimeSpan.FromSeconds(33), Backoff.Jittered(TimeSpan.FromSeconds(30), 0.1, 1));
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
