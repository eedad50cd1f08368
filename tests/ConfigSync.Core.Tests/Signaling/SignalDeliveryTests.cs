using System.Text.Json;
using ConfigSync.Configuration;
using ConfigSync.Diagnostics;
using ConfigSync.Publishing;
using ConfigSync.Signaling;
using ConfigSync.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace ConfigSync.Tests.Signaling;

public sealed class SignalDeliveryTests : IDisposable
{
    private readonly AppListener _app = new();
    private readonly HttpClient _http = new();
    private readonly SyncMetrics _metrics = new();
    private readonly TempFolder _temp = new();
    private readonly SteppedClock _clock = new();

    public void Dispose()
    {
        _app.Dispose();
        _http.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task Published_SendsPayloadHeadersAndDiff()
    {
        var v1 = Manifest("r1", ("a.yaml", "1"), ("b.yaml", "1"), ("c.yaml", "1"));
        await using var dispatcher = Create(signal => signal with { Headers = new Dictionary<string, string> { ["X-Custom"] = "yes" } }, live: v1);

        dispatcher.Published(Manifest("r2", ("a.yaml", "1"), ("b.yaml", "2"), ("d.yaml", "1")));

        var request = await _app.WaitForAsync(r => r.Revision == "r2", TimeSpan.FromSeconds(10));
        Assert.Equal("POST", request.Method);
        Assert.Equal("/-/reload", request.Path);
        Assert.Equal("test", request.Sync);
        Assert.Equal("yes", request.Custom);
        Assert.Equal("application/json", request.ContentType);
        using var body = JsonDocument.Parse(request.Body);
        Assert.Equal("r1", body.RootElement.GetProperty("previousRevision").GetString());
        Assert.Equal("/volume/current", body.RootElement.GetProperty("path").GetString());
        Assert.Equal(["d.yaml"], Strings(body, "added"));
        Assert.Equal(["b.yaml"], Strings(body, "changed"));
        Assert.Equal(["c.yaml"], Strings(body, "removed"));
    }

    [Fact]
    public async Task Published_AppAnswers500Twice_IsRetriedUntilAccepted()
    {
        _app.AnswerNext(500, 503);
        await using var dispatcher = Create();

        dispatcher.Published(Manifest("r1", ("a", "1")));

        var first = await _clock.AdvanceWhenWaitingAsync(IsRetry);
        var second = await _clock.AdvanceWhenWaitingAsync(IsRetry);
        Assert.True(await dispatcher.WaitSettledAsync(TimeSpan.FromSeconds(10), TimeProvider.System, CancellationToken.None));

        Assert.Equal([500, 503, 200], _app.Requests.Select(r => r.Status));
        // Polly's exponential backoff with (decorrelated) jitter: about 1 s, then 2 s, each spread, never past 30 s.
        Assert.All([first, second], wait => Assert.InRange(wait, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(30)));
        Assert.Equal(2, _metrics.SignalTotal.WithLabels("test", "error").Value);
        Assert.Equal(1, _metrics.SignalTotal.WithLabels("test", "success").Value);
    }

    [Fact]
    public async Task Published_NewerRevisionWhileAppIsDown_SupersedesAndCarriesAllChanges()
    {
        _app.DefaultStatus = 500;
        var v0 = Manifest("r0", ("keep", "0"), ("gone-in-r1", "0"));
        await using var dispatcher = Create(live: v0);

        dispatcher.Published(Manifest("r1", ("keep", "0"), ("new-in-r1", "1")));
        await _app.WaitForAsync(r => r.Revision == "r1", TimeSpan.FromSeconds(10));
        dispatcher.Published(Manifest("r2", ("keep", "2"), ("new-in-r1", "1"), ("new-in-r2", "2")));
        await _app.WaitForAsync(r => r.Revision == "r2", TimeSpan.FromSeconds(10));
        _app.DefaultStatus = 200;
        await _clock.AdvanceWhenWaitingAsync(IsRetry);

        // Settled means the newest tree was accepted and nothing is pending: no request can follow.
        Assert.True(await dispatcher.WaitSettledAsync(TimeSpan.FromSeconds(10), TimeProvider.System, CancellationToken.None));
        var accepted = Assert.Single(_app.Requests, r => r.Status == 200);

        Assert.Equal("r2", accepted.Revision);
        Assert.DoesNotContain(_app.Requests, r => r.Revision == "r1" && r.Status == 200);
        Assert.DoesNotContain(_app.Requests.SkipWhile(r => r.Revision != "r2"), r => r.Revision == "r1");
        using var body = JsonDocument.Parse(accepted.Body);
        Assert.Equal("r0", body.RootElement.GetProperty("previousRevision").GetString());
        Assert.Equal(["new-in-r1", "new-in-r2"], Strings(body, "added"));
        Assert.Equal(["keep"], Strings(body, "changed"));
        Assert.Equal(["gone-in-r1"], Strings(body, "removed"));
    }

    [Fact]
    public async Task Published_SuccessStatusList_TreatsOtherCodesAsFailure()
    {
        _app.AnswerNext(200);
        await using var dispatcher = Create(signal => signal with { SuccessStatus = [204] });
        _app.DefaultStatus = 204;

        dispatcher.Published(Manifest("r1", ("a", "1")));
        await _clock.AdvanceWhenWaitingAsync(IsRetry);

        Assert.True(await dispatcher.WaitSettledAsync(TimeSpan.FromSeconds(10), TimeProvider.System, CancellationToken.None));
        Assert.Equal([200, 204], _app.Requests.Select(r => r.Status));
    }

    [Fact]
    public async Task Published_SuccessStatusZero_AcceptsAnyAnswer_WithoutRetrying()
    {
        _app.DefaultStatus = 500;
        await using var dispatcher = Create(signal => signal with { SuccessStatus = [0] });

        dispatcher.Published(Manifest("r1", ("a", "1")));

        Assert.True(await dispatcher.WaitSettledAsync(TimeSpan.FromSeconds(10), TimeProvider.System, CancellationToken.None));
        Assert.Equal([500], _app.Requests.Select(r => r.Status));
    }

    [Fact]
    public async Task Published_HeaderTemplate_CarriesTheRevisionAndSync()
    {
        await using var dispatcher = Create(signal => signal with { Headers = new Dictionary<string, string> { ["X-Custom"] = "{sync}@{revision}" } });

        dispatcher.Published(Manifest("r7", ("a", "1")));

        var request = await _app.WaitForAsync(r => r.Revision == "r7", TimeSpan.FromSeconds(10));
        Assert.Equal("test@r7", request.Custom);
    }

    [Fact]
    public async Task Published_ExecHookInTree_RunsInTheLiveTree_WithTemplatedEnvironment()
    {
        var tree = _temp.Combine("tree");
        Directory.CreateDirectory(tree);
        File.WriteAllText(Path.Combine(tree, "a"), "content of a");
        var marker = _temp.Combine("ran");
        var settings = Settings.ForDirectory("/src", _temp.Path, sync: s => s with
        {
            Signal = new SignalSettings
            {
                ExecCommand = ["sh", "-c", $"echo \"$GITSYNC_HASH $(cat a)\" > {marker}"],
                ExecEnv = new Dictionary<string, string> { ["GITSYNC_HASH"] = "{revision}" },
                ExecInTree = true,
            },
        });
        await using var dispatcher = new SignalDispatcher(settings, tree, null, _http, _metrics, _clock, NullLogger.Instance);

        dispatcher.Published(Manifest("r5", ("a", "1")));

        Assert.True(await dispatcher.WaitSettledAsync(TimeSpan.FromSeconds(10), TimeProvider.System, CancellationToken.None));
        Assert.Equal("r5 content of a", File.ReadAllText(marker).Trim());
    }

    [Fact]
    public async Task Published_SkipFirst_DoesNotSignalTheFirstTreeButSignalsTheNext()
    {
        await using var dispatcher = Create(signal => signal with { SkipFirst = true });

        dispatcher.Published(Manifest("r1", ("a", "1")));
        dispatcher.Published(Manifest("r2", ("a", "2")));

        var request = await _app.WaitForAsync(r => r.Revision == "r2", TimeSpan.FromSeconds(10));
        Assert.DoesNotContain(_app.Requests, r => r.Revision == "r1");
        Assert.Contains("\"previousRevision\":\"r1\"", request.Body);
    }

    [Fact]
    public async Task Published_ExecHook_RunsWithRevisionInEnvironment_AndRetriesOnFailure()
    {
        var marker = _temp.Combine("ran");
        var counter = _temp.Combine("count");
        var script = $"echo x >> {counter}; [ $(wc -l < {counter}) -ge 2 ] || exit 3; echo \"$CONFIGSYNC_SYNC $CONFIGSYNC_REVISION $CONFIGSYNC_PATH\" > {marker}";
        await using var dispatcher = Create(signal => signal with { Url = null, ExecCommand = ["sh", "-c", script] });

        dispatcher.Published(Manifest("r9", ("a", "1")));
        await _clock.AdvanceWhenWaitingAsync(IsRetry);

        Assert.True(await dispatcher.WaitSettledAsync(TimeSpan.FromSeconds(10), TimeProvider.System, CancellationToken.None));
        Assert.Equal("test r9 /volume/current", File.ReadAllText(marker).Trim());
        Assert.Equal(2, File.ReadAllLines(counter).Length);
    }

    /// <summary>A retry's backoff, not an attempt's timeout (the signal's 2 s, an exec hook's 30 s).</summary>
    private static bool IsRetry(TimeSpan wait) => wait != TimeSpan.FromSeconds(2) && wait != TimeSpan.FromSeconds(30);

    private static List<string?> Strings(JsonDocument body, string name) =>
        [.. body.RootElement.GetProperty(name).EnumerateArray().Select(e => e.GetString())];

    private static Manifest Manifest(string revision, params (string Path, string Content)[] files) =>
        new("test", revision, "src", revision + "-1", DateTimeOffset.UnixEpoch, new Dictionary<string, string>(),
            [.. files.OrderBy(f => f.Path, StringComparer.Ordinal).Select(f => new ManifestFile(f.Path, f.Content.Length, "sha-" + f.Content, "0644", "v-" + f.Content))]);

    private SignalDispatcher Create(Func<SignalSettings, SignalSettings>? signal = null, Manifest? live = null)
    {
        var settings = Settings.ForDirectory("/src", _temp.Path, sync: s => s with { Signal = (signal ?? (x => x))(new SignalSettings { Url = _app.Url, Timeout = TimeSpan.FromSeconds(2) }) });
        return new SignalDispatcher(settings, "/volume/current", live, _http, _metrics, _clock, NullLogger.Instance);
    }
}
