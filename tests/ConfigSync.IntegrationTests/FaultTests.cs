using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using ConfigSync.IntegrationTests.Support;
using ConfigSync.Sources.S3.Tests.TestSupport;
using Xunit.Abstractions;

namespace ConfigSync.IntegrationTests;

/// <summary>
/// The fault matrix (docs/reliability.md), each case against the real daemon process: sources that
/// are down or die mid-download, SIGKILL at random points of a sync, a full disk, an app that
/// answers 500, a source that never answers. The invariant everywhere: the live tree is always one
/// complete revision, and the daemon recovers by itself.
/// </summary>
[Collection(TimingCollection.Name)] // the torn-read run and the fleet would load the machine under the backoff measurement
public sealed partial class FaultTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly Scenario _scenario = new();

    public void Dispose() => _scenario.Dispose();

    [Fact]
    public async Task S3DownAtStart_NotReady_NothingPublished_ReadyOnceItIsBack()
    {
        var port = AppListener.FreePort();
        WriteS3Config(port, interval: "2s");
        await using var daemon = Daemon.Start(["run", "--config", _scenario.ConfigFile]);
        using var http = new DaemonHttp(_scenario.Port);
        await http.WaitUntilUpAsync(daemon, Patience);

        await DaemonHttp.Eventually(async () => await MetricAsync(http, "configsync_consecutive_failures") >= 2, Patience, () => daemon.Output);
        output.WriteLine("error: " + (await StatusOfSyncAsync(http)).GetProperty("lastError").GetString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await http.StatusOfAsync("/readyz"));
        Assert.False(Path.Exists(_scenario.Live));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_scenario.Root, ".configsync", "staging")));

        await using var s3 = await S3rver.StartAsync(_scenario.Temp.Combine("s3"), port: port);
        await s3.PutAsync("prod/app.yaml", "port: 1");
        await http.WaitUntilReadyAsync(daemon, Patience);
        Assert.Equal("port: 1", File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")));
    }

    [Fact]
    public async Task S3DownAfterTheFirstSync_StaysReadyWithTheLastTree_AndRecoversByItself()
    {
        var port = AppListener.FreePort();
        var data = _scenario.Temp.Combine("s3");
        var s3 = await S3rver.StartAsync(data, port: port);
        await s3.PutAsync("prod/app.yaml", "port: 1");
        WriteS3Config(port, interval: "1s");
        await using var daemon = Daemon.Start(["run", "--config", _scenario.ConfigFile]);
        using var http = new DaemonHttp(_scenario.Port);
        await http.WaitUntilReadyAsync(daemon, Patience);

        await s3.DisposeAsync();
        await DaemonHttp.Eventually(async () => await MetricAsync(http, "configsync_consecutive_failures") >= 2, Patience, () => daemon.Output);
        Assert.Equal(HttpStatusCode.OK, await http.StatusOfAsync("/readyz"));
        Assert.Equal("port: 1", File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")));
        Assert.Contains($"127.0.0.1:{port}", (await http.SyncStatusAsync("app")).GetProperty("lastError").GetString());

        await using var back = await S3rver.StartAsync(data, port: port);
        await back.PutAsync("prod/app.yaml", "port: 2");
        await DaemonHttp.Eventually(() => Task.FromResult(File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")) == "port: 2"), Patience, () => daemon.Output);
        // The metric follows the link's swap by a few milliseconds: waited for, and it stays 0 (interval 1s, s3rver up).
        await DaemonHttp.Eventually(async () => await MetricAsync(http, "configsync_consecutive_failures") == 0, Patience, () => daemon.Output);
    }

    [Fact]
    public async Task SourceDownPastMaxStaleness_TurnsNotReady_AndReadyAgainOnceItRecovers()
    {
        _scenario.Temp.Write("source/app.yaml", "v: 1");
        var config = _scenario.WriteConfig(interval: "500ms", extraSync: "    maxStaleness: 8s");
        await using var daemon = Daemon.Start(["run", "--config", config]);
        using var http = new DaemonHttp(_scenario.Port);
        await http.WaitUntilReadyAsync(daemon, Patience);

        Directory.Move(_scenario.Source, _scenario.Source + ".away");
        await DaemonHttp.Eventually(async () => await MetricAsync(http, "configsync_consecutive_failures") >= 1, Patience, () => daemon.Output);
        Assert.Equal(HttpStatusCode.OK, await http.StatusOfAsync("/readyz")); // within the staleness limit
        await DaemonHttp.Eventually(async () => await http.StatusOfAsync("/readyz") == HttpStatusCode.ServiceUnavailable, Patience, () => daemon.Output);
        Assert.Equal("v: 1", File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")));
        Assert.Equal(HttpStatusCode.OK, await http.StatusOfAsync("/healthz"));

        Directory.Move(_scenario.Source + ".away", _scenario.Source);
        await http.WaitUntilReadyAsync(daemon, Patience);
    }

    [Fact]
    public async Task S3KilledMidDownload_PublishesNothingPartial_CleansStaging_AndTheNextSyncSucceeds()
    {
        var port = AppListener.FreePort();
        var data = _scenario.Temp.Combine("s3");
        var s3 = await S3rver.StartAsync(data, port: port);
        var content = new string('x', 8192);
        await Parallel.ForEachAsync(Enumerable.Range(0, 1500), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
            await s3.PutAsync($"prod/d{i % 15}/f{i}.yaml", content));
        WriteS3Config(port, interval: "1h", extra: "parallelism: 2");
        await using var daemon = Daemon.Start(["run", "--config", _scenario.ConfigFile]);
        using var http = new DaemonHttp(_scenario.Port);
        var staging = Path.Combine(_scenario.Root, ".configsync", "staging");
        await DaemonHttp.Eventually(() => Task.FromResult(Directory.Exists(staging) && Directory.EnumerateFiles(staging, "*", SearchOption.AllDirectories).Count() > 50), Patience, () => daemon.Output);

        await s3.DisposeAsync();
        await DaemonHttp.Eventually(async () => await StatusOfSyncAsync(http) is { } s && s.GetProperty("lastError").ValueKind == JsonValueKind.String, Patience, () => daemon.Output);

        output.WriteLine("error when the server died mid-download: " + (await StatusOfSyncAsync(http)).GetProperty("lastError").GetString());
        Assert.False(Path.Exists(_scenario.Live), "nothing is published from a sync that failed");
        Assert.Empty(Directory.EnumerateFileSystemEntries(staging));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await http.StatusOfAsync("/readyz"));

        await using var back = await S3rver.StartAsync(data, port: port);
        Assert.Equal(HttpStatusCode.Accepted, await http.PostAsync("/sync/app"));
        await http.WaitUntilReadyAsync(daemon, Patience);
        Assert.Equal(1500, Directory.EnumerateFiles(_scenario.Live, "*", SearchOption.AllDirectories).Count());
    }

    [Fact]
    public async Task Sigkill_AtRandomPointsOfSyncs_AlwaysLeavesOneCompleteRevision_AndTheDaemonNeverWedges()
    {
        const int Files = 400;
        const int Kills = 25;
        var config = _scenario.WriteConfig(interval: "200ms");
        var random = new Random(20261125);

        WriteRevision(1, Files);
        await using (var first = Daemon.Start(["run", "--config", config]))
        {
            using var http = new DaemonHttp(_scenario.Port);
            await http.WaitUntilReadyAsync(first, Patience);
            await first.KillHardAsync();
        }

        // Every other kill waits for its revision to be live, then kills; it also times that start to publish
        // on this machine, as loaded as it is now, which places the random kills of the next one.
        var seen = new SortedSet<int>();
        var landedBeforePublish = 0;
        var publishTime = TimeSpan.Zero;
        for (var revision = 2; revision <= Kills; revision++)
        {
            WriteRevision(revision, Files);
            var liveBefore = new FileInfo(_scenario.Live).LinkTarget;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            await using var daemon = Daemon.Start(["run", "--config", config]);
            var afterPublish = revision % 2 == 0;
            if (afterPublish)
            {
                // Once the new revision is live, anywhere in what follows: the signal, clean-up, the next polls.
                await DaemonHttp.Eventually(() => Task.FromResult(new FileInfo(_scenario.Live).LinkTarget != liveBefore), Patience, () => daemon.Output, pollMilliseconds: 2);
                publishTime = clock.Elapsed;
                await Task.Delay(TimeSpan.FromMilliseconds(random.Next(0, 150)));
            }
            else
            {
                // Anywhere from early start-up to around the publish: recovery, staging, writes, fsync, swap.
                await Task.Delay(publishTime * (0.1 + random.NextDouble()));
            }

            await daemon.KillHardAsync();

            var live = AssertOneCompleteRevision(Files);
            if (afterPublish)
            {
                Assert.Equal(revision, live); // a published revision survives the kill
            }
            else if (new FileInfo(_scenario.Live).LinkTarget == liveBefore)
            {
                landedBeforePublish++;
            }

            seen.Add(live);
        }

        // After the last kill: recovery cleans up, the daemon becomes ready and publishes the newest revision.
        await using (var daemon = Daemon.Start(["run", "--config", config]))
        {
            using var http = new DaemonHttp(_scenario.Port);
            await http.WaitUntilReadyAsync(daemon, Patience);
            await DaemonHttp.Eventually(() => Task.FromResult(Path.Exists(_scenario.Live) && AssertOneCompleteRevision(Files) == Kills), Patience, () => daemon.Output);
            Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_scenario.Root, ".configsync", "staging")));
            Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(_scenario.Root), e => Path.GetFileName(e).StartsWith(".current.", StringComparison.Ordinal));
        }

        output.WriteLine($"{Kills} SIGKILLs (start to publish took {publishTime.TotalMilliseconds:F0} ms here); {landedBeforePublish} of the random ones landed before their publish; revisions seen live after a kill: {string.Join(", ", seen)}");
        Assert.True(landedBeforePublish > 0, "no random kill landed before its publish: the kills did not reach a sync in progress");
    }

    [Fact]
    public async Task DiskFull_KeepsTheOldTree_NamesTheError_AndRecoversWhenSpaceReturns()
    {
        Assert.True(Environment.UserName == "root" || Environment.GetEnvironmentVariable("USER") == "root",
            "this test mounts a 2 MiB tmpfs as the target volume (a real ENOSPC); run the test command as root, as CI does");
        var volume = _scenario.Root;
        Directory.CreateDirectory(volume);
        Assert.Equal(0, (await Shell("mount", "-t", "tmpfs", "-o", "size=2m", "configsync-test", volume)).Code);
        try
        {
            for (var i = 0; i < 20; i++)
            {
                _scenario.Temp.Write($"source/f{i}.bin", Fill('a', 40 * 1024));
            }

            // Syncs when asked (a long interval): a poll between two of the writes below would publish the few changed
            // files that fit, which is right, but not this test.
            var config = _scenario.WriteConfig(interval: "1h");
            await using var daemon = Daemon.Start(["run", "--config", config]);
            using var http = new DaemonHttp(_scenario.Port);
            await http.WaitUntilReadyAsync(daemon, Patience);

            // 1.4 MB of new content beside the live 0.8 MB does not fit in 2 MiB.
            for (var i = 0; i < 20; i++)
            {
                _scenario.Temp.Write($"source/f{i}.bin", Fill('b', 70 * 1024));
            }

            Assert.Equal(HttpStatusCode.Accepted, await http.PostAsync("/sync/app"));

            await DaemonHttp.Eventually(async () => (await StatusOfSyncAsync(http)).GetProperty("lastError").GetString()?.Contains("No space left on device", StringComparison.Ordinal) == true, Patience, () => daemon.Output);
            output.WriteLine("error while the disk was full: " + (await StatusOfSyncAsync(http)).GetProperty("lastError").GetString());
            Assert.Equal(HttpStatusCode.OK, await http.StatusOfAsync("/readyz"));
            Assert.All(Enumerable.Range(0, 20), i => Assert.Equal(Fill('a', 40 * 1024), File.ReadAllText(Path.Combine(_scenario.Live, $"f{i}.bin"))));

            for (var i = 0; i < 20; i++)
            {
                _scenario.Temp.Write($"source/f{i}.bin", Fill('c', 20 * 1024));
            }

            Assert.Equal(HttpStatusCode.Accepted, await http.PostAsync("/sync/app"));

            await DaemonHttp.Eventually(() => Task.FromResult(File.ReadAllText(Path.Combine(_scenario.Live, "f19.bin")) == Fill('c', 20 * 1024)), Patience, () => daemon.Output);
            Assert.All(Enumerable.Range(0, 20), i => Assert.Equal(Fill('c', 20 * 1024), File.ReadAllText(Path.Combine(_scenario.Live, $"f{i}.bin"))));
            Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(volume, ".configsync", "staging")));
        }
        finally
        {
            await Shell("umount", "-l", volume);
        }
    }

    [Fact]
    public async Task AppAnswering500ForAWhile_SyncingGoesOn_AndOnlyTheNewestRevisionIsDeliveredOnceItRecovers()
    {
        using var app = new AppListener { DefaultStatus = 500 };
        _scenario.Temp.Write("source/app.yaml", "v: 0");
        var config = _scenario.WriteConfig(interval: "200ms", signalUrl: app.Url.ToString());
        await using var daemon = Daemon.Start(["run", "--config", config]);
        using var http = new DaemonHttp(_scenario.Port);
        await http.WaitUntilReadyAsync(daemon, Patience);

        // The link swaps a moment before /status names the revision: each is waited for on both.
        var revisions = new List<string> { (await http.SyncStatusAsync("app")).GetProperty("revision").GetString()! };
        for (var v = 1; v <= 5; v++)
        {
            _scenario.Temp.Write("source/app.yaml", $"v: {v}");
            var revision = revisions[^1];
            await DaemonHttp.Eventually(async () => File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")) == $"v: {v}"
                && (revision = (await http.SyncStatusAsync("app")).GetProperty("revision").GetString()!) != revisions[^1], Patience, () => daemon.Output);
            revisions.Add(revision);
        }

        revisions.RemoveAt(0);

        Assert.All(app.Requests, r => Assert.Equal(500, r.Status));
        app.DefaultStatus = 200;
        var delivered = await app.WaitForAsync(r => r.Status == 200, Patience);
        // The daemon counts the success once it read the answer; its delivery loop is then idle. Signals go out one at
        // a time, each for the newest tree, so an older revision accepted would already be among the requests.
        await DaemonHttp.Eventually(async () => (await http.GetStringAsync("/metrics")).Contains("configsync_signal_total{sync=\"app\",result=\"success\"} 1", StringComparison.Ordinal), Patience, () => daemon.Output);

        Assert.Equal(revisions[^1], delivered.Revision);
        Assert.Single(app.Requests, r => r.Status == 200);
        output.WriteLine($"{app.Requests.Count(r => r.Status == 500)} signals answered 500 across {revisions.Count} revisions; one delivered, the newest");
    }

    [Fact]
    public async Task SourceThatNeverAnswers_TimesOutTheSync_AndTheDaemonStaysLive()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var accepted = new List<TcpClient>();
        var accepting = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    accepted.Add(await silent.AcceptTcpClientAsync());
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
        });
        WriteS3Config(((IPEndPoint)silent.LocalEndpoint).Port, interval: "1h", extra: "", timeout: "2s");
        await using var daemon = Daemon.Start(["run", "--config", _scenario.ConfigFile]);
        using var http = new DaemonHttp(_scenario.Port);
        await http.WaitUntilUpAsync(daemon, Patience);

        await DaemonHttp.Eventually(async () => (await StatusOfSyncAsync(http)).GetProperty("lastError").GetString()?.Contains("the sync took longer than its timeout (2s)", StringComparison.Ordinal) == true, Patience, () => daemon.Output);
        Assert.Equal(HttpStatusCode.OK, await http.StatusOfAsync("/healthz"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await http.StatusOfAsync("/readyz"));
        silent.Stop();
        accepted.ForEach(c => c.Dispose());
        await accepting;
    }

    private void WriteS3Config(int port, string interval, string extra = "", string timeout = "30s")
    {
        File.WriteAllText(_scenario.Temp.Write("secret/key-id", S3rver.KeyId), S3rver.KeyId);
        _scenario.Temp.Write("secret/secret", S3rver.Secret);
        _scenario.WriteSourceConfig(
            $"""
            type: s3
            bucket: config
            prefix: prod
            endpoint: http://127.0.0.1:{port}
            {extra}
            auth:
              accessKeyIdFile: secret/key-id
              secretAccessKeyFile: secret/secret
            """,
            sync: $"interval: {interval}\ntimeout: {timeout}",
            target: "grace: 1s");
    }

    private void WriteRevision(int revision, int files)
    {
        var text = $"revision {revision}\n" + new string('.', 8000);
        for (var i = 0; i < files; i++)
        {
            _scenario.Temp.Write($"source/d{i % 10}/f{i}.txt", text);
        }
    }

    /// <summary>The live tree holds every file, all of one revision, each matching the tree's manifest; returns the revision.</summary>
    private int AssertOneCompleteRevision(int files)
    {
        var tree = Path.GetFullPath(Path.Combine(_scenario.Root, new FileInfo(_scenario.Live).LinkTarget!));
        var all = Directory.EnumerateFiles(tree, "*", SearchOption.AllDirectories).ToList();
        Assert.Equal(files, all.Count);
        var revisions = all.Select(f => File.ReadLines(f).First()).Distinct().ToList();
        Assert.Single(revisions);
        var manifest = Path.Combine(_scenario.Root, ".configsync", "manifests", Path.GetFileName(tree) + ".json");
        using var document = JsonDocument.Parse(File.ReadAllText(manifest));
        foreach (var file in document.RootElement.GetProperty("files").EnumerateArray())
        {
            var path = Path.Combine(tree, file.GetProperty("path").GetString()!);
            Assert.Equal(file.GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));
        }

        return int.Parse(revisions[0]["revision ".Length..], CultureInfo.InvariantCulture);
    }

    private async Task<JsonElement> StatusOfSyncAsync(DaemonHttp http) => await http.SyncStatusAsync("app");

    private static async Task<long> MetricAsync(DaemonHttp http, string name)
    {
        var line = (await http.GetStringAsync("/metrics")).Split('\n').FirstOrDefault(l => l.StartsWith(name + "{", StringComparison.Ordinal));
        return line is null ? 0 : (long)double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }

    private static string Fill(char c, int length) => new(c, length);

    private static async Task<(int Code, string Output)> Shell(string file, params string[] arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var text = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, text);
    }
}
