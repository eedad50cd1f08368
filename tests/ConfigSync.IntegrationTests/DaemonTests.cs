using System.Net;
using System.Text.Json;
using ConfigSync.IntegrationTests.Support;

namespace ConfigSync.IntegrationTests;

/// <summary>The real daemon process against real folders and a real HTTP listener standing in for the app.</summary>
public sealed class DaemonTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly Scenario _scenario = new();
    private readonly AppListener _app = new();

    public void Dispose()
    {
        _app.Dispose();
        _scenario.Dispose();
    }

    [Fact]
    public async Task Run_SourceAppearsLater_Readiness503ThenReady_AndAppSignalledAfterA500()
    {
        var config = _scenario.WriteConfig(signalUrl: _app.Url.ToString());
        await using var daemon = Daemon.Start(["run", "--config", config]);
        using var http = new DaemonHttp(_scenario.Port);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, await http.WaitUntilUpAsync(daemon, Patience));
        await DaemonHttp.Eventually(async () => (await http.SyncStatusAsync("app")).GetProperty("lastError").GetString() is not null, Patience, () => daemon.Output);
        Assert.Contains("does not exist", (await http.SyncStatusAsync("app")).GetProperty("lastError").GetString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await http.StatusOfAsync("/readyz"));

        // The folder appears whole (made beside it, then renamed into place): a retry between two writes would
        // rightly publish the first file alone.
        _app.AnswerNext(500);
        _scenario.Temp.Write("source.new/app.yaml", "port: 1");
        _scenario.Temp.Write("source.new/conf/db.yaml", "pool: 5");
        Directory.Move(_scenario.Source + ".new", _scenario.Source);
        Assert.Equal(HttpStatusCode.Accepted, await http.PostAsync("/sync/app"));

        await DaemonHttp.Eventually(async () => await http.StatusOfAsync("/readyz") == HttpStatusCode.OK, Patience, () => daemon.Output);
        var accepted = await _app.WaitForAsync(r => r.Status == 200, Patience);
        var status = await http.SyncStatusAsync("app");
        Assert.Equal(status.GetProperty("revision").GetString(), accepted.Revision);
        Assert.Equal([500, 200], _app.Requests.Select(r => r.Status));
        using var body = JsonDocument.Parse(accepted.Body);
        Assert.Equal("app", body.RootElement.GetProperty("sync").GetString());
        Assert.Equal(_scenario.Live, body.RootElement.GetProperty("path").GetString());
        Assert.Equal(["app.yaml", "conf/db.yaml"], body.RootElement.GetProperty("added").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("port: 1", File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")));

        var metrics = await http.GetStringAsync("/metrics");
        Assert.Contains("configsync_ready 1", metrics);
        Assert.Contains("configsync_signal_total{sync=\"app\",result=\"error\"} 1", metrics);
        Assert.Contains($"configsync_revision_info{{sync=\"app\",revision=\"{accepted.Revision}\"}} 1", metrics);
        Assert.Contains("configsync_files{sync=\"app\"} 2", metrics);
    }

    [Fact]
    public async Task Run_ChangeInSource_IsPublishedAndSignalledWithTheDiff()
    {
        _scenario.Temp.Write("source/a.yaml", "1");
        _scenario.Temp.Write("source/b.yaml", "1");
        var config = _scenario.WriteConfig(interval: "1h", signalUrl: _app.Url.ToString());
        await using var daemon = Daemon.Start(["run", "--config", config]);
        using var http = new DaemonHttp(_scenario.Port);
        await http.WaitUntilUpAsync(daemon, Patience);
        var first = await _app.WaitForAsync(r => r.Status == 200, Patience);

        // Three edits, then one sync (a poll between two edits would rightly publish them in two revisions).
        File.WriteAllText(Path.Combine(_scenario.Source, "b.yaml"), "2");
        File.Delete(Path.Combine(_scenario.Source, "a.yaml"));
        _scenario.Temp.Write("source/c.yaml", "3");
        Assert.Equal(HttpStatusCode.Accepted, await http.PostAsync("/sync/app"));

        var second = await _app.WaitForAsync(r => r.Revision != first.Revision, Patience);
        using var body = JsonDocument.Parse(second.Body);
        Assert.Equal(first.Revision, body.RootElement.GetProperty("previousRevision").GetString());
        Assert.Equal(["c.yaml"], body.RootElement.GetProperty("added").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["b.yaml"], body.RootElement.GetProperty("changed").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["a.yaml"], body.RootElement.GetProperty("removed").EnumerateArray().Select(e => e.GetString()));
        Assert.False(File.Exists(Path.Combine(_scenario.Live, "a.yaml")));
    }

    [Fact]
    public async Task Restart_WithVerifiedTree_IsReadyAtOnce_AndCleansLeftovers_EvenWithTheSourceDown()
    {
        _scenario.Temp.Write("source/app.yaml", "v: 1");
        var config = _scenario.WriteConfig();
        var (code, output) = await Daemon.RunAsync(["once", "--config", config]);
        Assert.True(code == 0, output);
        var tree = new FileInfo(_scenario.Live).LinkTarget;

        Directory.Delete(_scenario.Source, recursive: true);
        var leftover = Path.Combine(_scenario.Root, ".configsync", "staging", "crashed");
        Directory.CreateDirectory(leftover);
        File.WriteAllText(Path.Combine(leftover, "half-written.yaml"), "v: 2, hal");
        // A crash between making the new link (in staging) and renaming it over the live one leaves it in staging.
        File.CreateSymbolicLink(Path.Combine(_scenario.Root, ".configsync", "staging", "link-dead"), ".configsync/trees/gone");
        File.CreateSymbolicLink(Path.Combine(_scenario.Root, ".current.configsync-tmp-lookalike"), ".configsync/trees/gone");

        await using var daemon = Daemon.Start(["run", "--config", config]);
        using var http = new DaemonHttp(_scenario.Port);

        Assert.Equal(HttpStatusCode.OK, await http.WaitUntilUpAsync(daemon, Patience));
        Assert.False(Directory.Exists(leftover));
        Assert.Null(new FileInfo(Path.Combine(_scenario.Root, ".configsync", "staging", "link-dead")).LinkTarget);

        // Not made by ConfigSync (nothing recorded it): never deleted by its name's pattern.
        Assert.NotNull(new FileInfo(Path.Combine(_scenario.Root, ".current.configsync-tmp-lookalike")).LinkTarget);
        await DaemonHttp.Eventually(async () => (await http.SyncStatusAsync("app")).GetProperty("consecutiveFailures").GetInt32() > 0, Patience, () => daemon.Output);
        Assert.Equal(HttpStatusCode.OK, await http.StatusOfAsync("/readyz"));
        Assert.Equal(tree, new FileInfo(_scenario.Live).LinkTarget);
        Assert.Equal("v: 1", File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")));
    }

    [Fact]
    public async Task Run_SymlinkEscapingTheTree_IsRefusedByName_AndLiveTreeStays()
    {
        _scenario.Temp.Write("source/app.yaml", "good");
        var config = _scenario.WriteConfig(interval: "300ms");
        await using var daemon = Daemon.Start(["run", "--config", config]);
        using var http = new DaemonHttp(_scenario.Port);
        await http.WaitUntilUpAsync(daemon, Patience);
        await DaemonHttp.Eventually(async () => await http.StatusOfAsync("/readyz") == HttpStatusCode.OK, Patience, () => daemon.Output);

        // The link first: every poll from here on sees it (the other order lets one publish "changed" alone).
        File.CreateSymbolicLink(Path.Combine(_scenario.Source, "passwd"), "../../../../etc/passwd");
        File.WriteAllText(Path.Combine(_scenario.Source, "app.yaml"), "changed");

        await DaemonHttp.Eventually(async () => (await http.SyncStatusAsync("app")).GetProperty("lastError").GetString() is not null, Patience, () => daemon.Output);
        var error = (await http.SyncStatusAsync("app")).GetProperty("lastError").GetString();
        Assert.Contains("'passwd' is a symbolic link to '../../../../etc/passwd', which leads outside the tree", error);
        Assert.Equal("good", File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")));
        Assert.False(Path.Exists(Path.Combine(_scenario.Live, "passwd")));
        Assert.Equal(HttpStatusCode.OK, await http.StatusOfAsync("/readyz"));

        // The failure is logged by name too; the log line reaches the test through a pipe read
        // asynchronously, so it may arrive just after /status shows the error.
        await DaemonHttp.Eventually(() => Task.FromResult(daemon.Output.Contains("passwd", StringComparison.Ordinal)), Patience, () => daemon.Output);
    }

    [Fact]
    public async Task Sigterm_DuringALargeSync_ExitsZeroQuickly_AndNeverLeavesAHalfTree()
    {
        // 3,000 files of 16 KiB: long enough to be caught mid-write.
        var content = new string('x', 16 * 1024);
        for (var i = 0; i < 3000; i++)
        {
            _scenario.Temp.Write($"source/d{i % 30}/f{i}.txt", content);
        }

        var config = _scenario.WriteConfig(interval: "1h");
        await using var daemon = Daemon.Start(["run", "--config", config]);
        var staging = Path.Combine(_scenario.Root, ".configsync", "staging");
        await DaemonHttp.Eventually(() => Task.FromResult(Directory.Exists(staging) && Directory.EnumerateFileSystemEntries(staging).Any()), Patience, () => daemon.Output);

        daemon.Terminate();
        var code = await daemon.WaitForExitAsync(TimeSpan.FromSeconds(25));

        Assert.True(code == 0, daemon.Output);
        Assert.Empty(Directory.EnumerateFileSystemEntries(staging));
        if (new FileInfo(_scenario.Live).LinkTarget is not null)
        {
            Assert.Equal(3000, Directory.EnumerateFiles(_scenario.Live, "*", SearchOption.AllDirectories).Count());
        }

        var (again, output) = await Daemon.RunAsync(["once", "--config", config]);
        Assert.True(again == 0, output);
        Assert.Equal(3000, Directory.EnumerateFiles(_scenario.Live, "*", SearchOption.AllDirectories).Count());
    }

    [Fact]
    public async Task Run_DirWatch_PublishesOnFileEvents_WithoutWaitingForTheInterval()
    {
        _scenario.Temp.Write("source/app.yaml", "v: 1");
        var config = _scenario.WriteConfig(interval: "1h");
        File.WriteAllText(config, File.ReadAllText(config).Replace("      path: source", "      path: source\n      watch: true", StringComparison.Ordinal));
        await using var daemon = Daemon.Start(["run", "--config", config]);
        using var http = new DaemonHttp(_scenario.Port);
        await http.WaitUntilUpAsync(daemon, Patience);
        await DaemonHttp.Eventually(async () => await http.StatusOfAsync("/readyz") == HttpStatusCode.OK, Patience, () => daemon.Output);

        File.WriteAllText(Path.Combine(_scenario.Source, "app.yaml"), "v: 2");
        _scenario.Temp.Write("source/nested/new.yaml", "n: 1");

        await DaemonHttp.Eventually(
            () => Task.FromResult(File.Exists(Path.Combine(_scenario.Live, "nested", "new.yaml")) && File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")) == "v: 2"),
            TimeSpan.FromSeconds(15),
            () => daemon.Output);
    }

    [Fact]
    public async Task Run_MaxFailuresReached_ExitsWithCode1()
    {
        var config = _scenario.WriteConfig(interval: "200ms", extraSync: "    maxFailures: 2");

        var (code, output) = await Daemon.RunAsync(["run", "--config", config], timeout: Patience);

        Assert.Equal(1, code);
        Assert.Contains("reached maxFailures", output);
    }

    [Fact]
    public async Task Trigger_UnknownSync_Is404_AndLoopbackTrigger_Is202()
    {
        _scenario.Temp.Write("source/a", "1");
        var config = _scenario.WriteConfig(interval: "1h");
        await using var daemon = Daemon.Start(["run", "--config", config]);
        using var http = new DaemonHttp(_scenario.Port);
        await http.WaitUntilUpAsync(daemon, Patience);

        Assert.Equal(HttpStatusCode.NotFound, await http.PostAsync("/sync/nope"));
        _scenario.Temp.Write("source/b", "2");
        Assert.Equal(HttpStatusCode.Accepted, await http.PostAsync("/sync/app"));
        await DaemonHttp.Eventually(() => Task.FromResult(File.Exists(Path.Combine(_scenario.Live, "b"))), Patience, () => daemon.Output);
    }
}
