using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using ConfigSync.IntegrationTests.Support;
using ConfigSync.Sources.AzureBlob.Tests.TestSupport;
using ConfigSync.Sources.S3.Tests.TestSupport;

namespace ConfigSync.IntegrationTests;

/// <summary>
/// <c>configsync publish</c> into s3rver and Azurite, and daemons reading the result in index mode through a proxy
/// that counts what the store sees (the published executable both sides): an unchanged poll is one conditional GET
/// answered 304 and no listing; a change downloads the index and exactly the changed objects; an object replaced
/// behind the index, or an index naming paths outside the root, fails the sync by name and leaves the live tree.
/// </summary>
public sealed class PublishTests : IAsyncLifetime
{
    private const string Index = ".configsync-index.json";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly Scenario _scenario = new();

    private string Tree => _scenario.Temp.Combine("tree");

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        _scenario.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task S3_IndexReaders_PollWithOneConditionalGet_AndFetchOnlyWhatChanged()
    {
        await using var s3 = await S3rver.StartAsync(_scenario.Temp.Combine("s3"));
        await using var proxy = await CountingProxy.StartAsync(s3.Endpoint);
        await IndexFlowAsync(proxy, S3Store(s3, s3.Endpoint), S3Store(s3, proxy.Url), key => S3ExistsAsync(s3, key));
    }

    [Fact]
    public async Task AzureBlob_IndexReaders_PollWithOneConditionalGet_AndFetchOnlyWhatChanged()
    {
        await using var azurite = await Azurite.StartAsync();
        var container = await azurite.CreateContainerAsync("config");
        await using var proxy = await CountingProxy.StartAsync($"http://127.0.0.1:{azurite.Port}");
        var direct = _scenario.Temp.Write("secret/direct", azurite.ConnectionString);
        var proxied = _scenario.Temp.Write("secret/proxied", azurite.ConnectionString.Replace($"127.0.0.1:{azurite.Port}", $"127.0.0.1:{proxy.Port}", StringComparison.Ordinal));
        string Store(string connection) => $"""
            type: azureblob
            container: config
            prefix: prod
            auth:
              connectionStringFile: {connection}
            """;
        await IndexFlowAsync(proxy, Store(direct), Store(proxied), async key => (await container.Client.GetBlobClient(key).ExistsAsync()).Value);
    }

    [Fact]
    public async Task S3_AnObjectReplacedBehindTheIndex_FailsTheSyncByName_UntilPublishedAgain()
    {
        await using var s3 = await S3rver.StartAsync(_scenario.Temp.Combine("s3"));
        WriteTree(("a.yaml", "a: 1\n"), ("b.yaml", "b: 1\n"));
        Assert.Equal(0, (await PublishAsync(S3Store(s3, s3.Endpoint))).ExitCode);
        await using var daemon = await StartReaderAsync(S3Store(s3, s3.Endpoint));
        using var http = new DaemonHttp(_scenario.Port);

        WriteTree(("a.yaml", "a: 2\n"), ("b.yaml", "b: 1\n"));
        Assert.Equal(0, (await PublishAsync(S3Store(s3, s3.Endpoint))).ExitCode);
        await s3.PutAsync("prod/" + Key("a: 2\n"), "a: tampered\n"); // replaced behind the index
        var status = await http.SyncAndWaitAsync("app", Patience);

        Assert.Contains($"'prod/{Key("a: 2\n")}' changed during the sync", status.GetProperty("lastError").GetString(), StringComparison.Ordinal);
        Assert.Equal("a: 1\n", File.ReadAllText(Path.Combine(_scenario.Live, "a.yaml")));

        // Publishing again finds the store no longer as its index says, and repairs it; the reader then takes it.
        var (code, output) = await PublishAsync(S3Store(s3, s3.Endpoint));
        Assert.Equal(0, code);
        Assert.Contains("(1 uploaded, 2 objects;", output, StringComparison.Ordinal);
        status = await http.SyncAndWaitAsync("app", Patience);
        Assert.Equal(0, status.GetProperty("consecutiveFailures").GetInt32());
        Assert.Equal("a: 2\n", File.ReadAllText(Path.Combine(_scenario.Live, "a.yaml")));
    }

    /// <summary>Indexes written by an attacker with write access to the bucket, naming paths that leave the root: refused by name, nothing written outside it.</summary>
    [Fact]
    public async Task S3_HostileIndexPaths_AreRefused_AndNothingIsWrittenOutsideTheRoot()
    {
        await using var s3 = await S3rver.StartAsync(_scenario.Temp.Combine("s3"));
        WriteTree(("a.yaml", "a: 1\n"));
        Assert.Equal(0, (await PublishAsync(S3Store(s3, s3.Endpoint))).ExitCode);
        await using var daemon = await StartReaderAsync(S3Store(s3, s3.Endpoint));
        using var http = new DaemonHttp(_scenario.Port);
        var before = Listing(_scenario.Temp.Path);

        var random = new Random(23);
        string[] fixedPaths = ["../escape.yaml", "../../escape.yaml", "/tmp/escape.yaml", "a/../../escape.yaml", "a\u0000b", "a\nb", "./a.yaml", "a//b.yaml", ".git/config"];
        var generated = Enumerable.Range(0, 6).Select(_ =>
        {
            var segments = Enumerable.Range(0, random.Next(1, 5)).Select(_ => random.Next(4) switch { 0 => "..", 1 => ".", 2 => string.Empty, _ => "x" }).ToList();
            segments.Insert(random.Next(segments.Count + 1), ".."); // at least one segment that leaves
            return string.Join('/', segments) + ".yaml";
        });
        // The object the index names exists, with the right ETag (an MD5 for s3rver) and SHA-256: only the path is hostile.
        await s3.PutAsync("prod/" + Key("evil: 1\n"), "evil: 1\n");
#pragma warning disable CA5351 // s3rver's ETag is an MD5, computed here to match it
        var etag = Convert.ToHexStringLower(MD5.HashData("evil: 1\n"u8));
#pragma warning restore CA5351
        var revision = 0;
        foreach (var path in fixedPaths.Concat(generated))
        {
            await s3.PutAsync("prod/" + Index, HostileIndex($"hostile{revision++}", path, etag, "evil: 1\n"));
            var status = await http.SyncAndWaitAsync("app", Patience);

            Assert.Equal("a: 1\n", File.ReadAllText(Path.Combine(_scenario.Live, "a.yaml")));
            Assert.NotEqual(0, status.GetProperty("consecutiveFailures").GetInt32());
            Assert.Contains("refused the revision", status.GetProperty("lastError").GetString(), StringComparison.Ordinal);
            Assert.False(File.Exists("/tmp/escape.yaml"));
        }

        // The control: the same object under a plain path publishes, so the refusals above were the paths' doing.
        await s3.PutAsync("prod/" + Index, HostileIndex("plain", "ok.yaml", etag, "evil: 1\n"));
        Assert.Equal(0, (await http.SyncAndWaitAsync("app", Patience)).GetProperty("consecutiveFailures").GetInt32());
        Assert.Equal("evil: 1\n", File.ReadAllText(Path.Combine(_scenario.Live, "ok.yaml")));

        Assert.Equal(before.Where(p => !p.Contains("volume", StringComparison.Ordinal) && !p.Contains("/s3", StringComparison.Ordinal)),
            Listing(_scenario.Temp.Path).Where(p => !p.Contains("volume", StringComparison.Ordinal) && !p.Contains("/s3", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task S3_ObjectsTheNewIndexDrops_StayForTheGracePeriod_ThenAreDeleted()
    {
        await using var s3 = await S3rver.StartAsync(_scenario.Temp.Combine("s3"));
        await s3.PutAsync("prod/notes/theirs.txt", "not ours\n");
        WriteTree(("a.yaml", "a: 1\n"), ("gone.yaml", "g: 1\n"));
        Assert.Equal(0, (await PublishAsync(S3Store(s3, s3.Endpoint))).ExitCode);
        var first = await IndexRevisionAsync(s3);

        WriteTree(("a.yaml", "a: 1\n"));
        var config = PublishConfig(S3Store(s3, s3.Endpoint), grace: "5s");
        await using var publish = Daemon.Start(["publish", "--config", config]);
        await DaemonHttp.Eventually(async () => await IndexRevisionAsync(s3) != first, Patience, () => "the new index was not written");

        // The new index is live and the dropped object is still there for readers of the old one; an object no index
        // of ours named is never deleted.
        Assert.True(await S3ExistsAsync(s3, "prod/" + Key("g: 1\n")));
        Assert.Equal(0, await publish.WaitForExitAsync(Patience));
        Assert.False(await S3ExistsAsync(s3, "prod/" + Key("g: 1\n")));
        Assert.True(await S3ExistsAsync(s3, "prod/" + Key("a: 1\n")));
        Assert.True(await S3ExistsAsync(s3, "prod/notes/theirs.txt"));
        Assert.Contains("deleted 1 objects", publish.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("publish --watch")]
    [InlineData("run")] // the publisher's daemon mode: a configuration whose syncs all publish
    public async Task S3_Watch_PublishesEachChange_AndServesHealthReadinessAndMetrics(string command)
    {
        await using var s3 = await S3rver.StartAsync(_scenario.Temp.Combine("s3"));
        WriteTree(("a.yaml", "a: 1\n"));
        var config = PublishConfig(S3Store(s3, s3.Endpoint), grace: "1s", extraTop: $"http:\n  listen: \"127.0.0.1:{_scenario.Port}\"\n", extraSync: "    interval: 1s\n");
        await using var publish = Daemon.Start([.. command.Split(' '), "--config", config]);
        using var http = new DaemonHttp(_scenario.Port);
        await http.WaitUntilReadyAsync(publish, Patience);
        Assert.Equal(HttpStatusCode.OK, await http.StatusOfAsync("/healthz"));
        Assert.Contains("configsync_sync_total{sync=\"app\",result=\"changed\"} 1", await http.GetStringAsync("/metrics"), StringComparison.Ordinal);

        WriteTree(("a.yaml", "a: 2\n"));
        await DaemonHttp.Eventually(async () => (await http.GetStringAsync("/metrics")).Contains("configsync_sync_total{sync=\"app\",result=\"changed\"} 2", StringComparison.Ordinal),
            Patience, () => "the change was not published");
        var metrics = await http.GetStringAsync("/metrics");
        Assert.Contains("configsync_ready 1", metrics, StringComparison.Ordinal);
        Assert.Contains("configsync_source_requests_total{sync=\"app\",operation=\"put\"} 4", metrics, StringComparison.Ordinal); // two objects, two indexes
        await DaemonHttp.Eventually(async () => !await S3ExistsAsync(s3, "prod/" + Key("a: 1\n")), Patience, () => "the retired object was not deleted after its grace");

        publish.Terminate();
        Assert.Equal(0, await publish.WaitForExitAsync(Patience));
    }

    [Fact]
    public async Task Publish_RefusesASyncWithoutPublish_AndOnceOrAMixedRunRefusesOneWithIt()
    {
        var store = """
            type: s3
            bucket: config
            endpoint: http://127.0.0.1:9
            """;
        var (code, output) = await PublishAsync(store);
        Assert.Equal(1, code); // no server: the publish fails
        Assert.Contains("publish failed, the index was not changed", output, StringComparison.Ordinal);

        var config = PublishConfig(store, grace: "0s");
        var run = await Daemon.RunAsync(["once", "--config", config]);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("syncs app: 'publish' writes into a store, and this command writes volumes; run a publisher with 'configsync publish' or 'configsync run'", run.Output, StringComparison.Ordinal);

        // One process has one role: a run with a publishing sync and a volume sync starts neither.
        var mixed = _scenario.Temp.Write("mixed.yaml", File.ReadAllText(config) + $"""
              - name: volume
                source:
                  type: dir
                  path: {Tree}
                target:
                  root: {_scenario.Temp.Combine("volume")}
            """);
        foreach (var command in new[] { "run", "validate" })
        {
            run = await Daemon.RunAsync([command, "--config", mixed]);
            Assert.Equal(2, run.ExitCode);
            Assert.Contains("syncs app publish into a store and syncs volume write a volume: one configuration has one role", run.Output, StringComparison.Ordinal);
        }

        Assert.False(Directory.Exists(_scenario.Temp.Combine("volume")));

        // What acts on a volume or the app is refused on a publishing sync by name, never ignored.
        var extras = PublishConfig(store, grace: "0s", extraSync: "    include: [\"*.yaml\"]\n    signal:\n      url: http://127.0.0.1:9/\n    maxStaleness: 5m\n");
        run = await Daemon.RunAsync(["validate", "--config", extras]);
        Assert.Equal(2, run.ExitCode);
        foreach (var key in new[] { "include", "signal", "maxStaleness" })
        {
            Assert.Contains($"syncs[0].{key}: applies to syncs that write a volume", run.Output, StringComparison.Ordinal);
        }

        _scenario.WriteConfig();
        var publish = await Daemon.RunAsync(["publish", "--config", _scenario.ConfigFile]);
        Assert.Equal(2, publish.ExitCode);
        Assert.Contains("syncs app: no 'publish' (the bucket or container to publish into)", publish.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_APublisherThatKeepsFailing_StopsWithExitCode1_AtMaxFailures()
    {
        var store = """
            type: s3
            bucket: config
            region: us-east-1
            endpoint: http://127.0.0.1:9
            """;
        var config = PublishConfig(store, grace: "0s", extraTop: $"http:\n  listen: \"127.0.0.1:{_scenario.Port}\"\n", extraSync: "    interval: 200ms\n    maxFailures: 2\n");

        var (code, output) = await Daemon.RunAsync(["run", "--config", config], timeout: Patience);

        Assert.Equal(1, code);
        Assert.Contains("app: 2 failed publishes in a row reached maxFailures; stopping with exit code 1", output, StringComparison.Ordinal);
        Assert.Equal(2, output.Split("publish failed, the index was not changed").Length - 1);
    }

    private async Task IndexFlowAsync(CountingProxy proxy, string publishStore, string readerStore, Func<string, Task<bool>> exists)
    {
        WriteTree(("a.yaml", "a: 1\n"), ("b.yaml", "b: 1\n"), ("sub/c.yaml", "c: 1\n"));
        var (code, output) = await PublishAsync(publishStore);
        Assert.True(code == 0, output);
        Assert.Contains("(3 uploaded, 3 objects;", output, StringComparison.Ordinal);

        await using var daemon = await StartReaderAsync(readerStore);
        using var http = new DaemonHttp(_scenario.Port);
        AssertLive(("a.yaml", "a: 1\n"), ("b.yaml", "b: 1\n"), ("sub/c.yaml", "c: 1\n"));
        Assert.Equal((0, 4), (proxy.Lists, proxy.Gets)); // the index and three objects

        // Unchanged: one conditional GET of the index, answered 304.
        var seen = proxy.Requests.Count;
        var unchanged = await http.SyncAndWaitAsync("app", Patience);
        Assert.True(unchanged.GetProperty("consecutiveFailures").GetInt32() == 0, unchanged.GetProperty("lastError").GetString());
        Assert.Equal(1, proxy.Requests.Count - seen);
        Assert.Equal(304, proxy.Statuses.Last());
        Assert.Equal(0, proxy.Lists);

        // One changed, one removed, one added: the index and the two new objects.
        WriteTree(("a.yaml", "a: 2\n"), ("sub/c.yaml", "c: 1\n"), ("d.yaml", "d: 1\n"));
        (code, output) = await PublishAsync(publishStore);
        Assert.True(code == 0, output);
        Assert.Contains("(2 uploaded, 3 objects;", output, StringComparison.Ordinal);
        Assert.False(await exists("prod/" + Key("b: 1\n"))); // retired, gracePeriod 0s
        Assert.True(await exists("prod/" + Key("a: 2\n")));
        seen = proxy.Requests.Count;
        var status = await http.SyncAndWaitAsync("app", Patience);
        Assert.Equal(0, status.GetProperty("consecutiveFailures").GetInt32());
        Assert.Equal(3, proxy.Requests.Count - seen);
        Assert.Equal(0, proxy.Lists);
        AssertLive(("a.yaml", "a: 2\n"), ("sub/c.yaml", "c: 1\n"), ("d.yaml", "d: 1\n"));

        // Publishing the same tree again uploads nothing and keeps the index.
        (code, output) = await PublishAsync(publishStore);
        Assert.True(code == 0, output);
        Assert.Contains("already holds revision", output, StringComparison.Ordinal);
    }

    private string S3Store(S3rver s3, string endpoint) => $"""
        type: s3
        bucket: {s3.Bucket}
        prefix: prod
        region: us-east-1
        endpoint: {endpoint}
        auth:
          accessKeyIdFile: {_scenario.Temp.Write("secret/key-id", S3rver.KeyId)}
          secretAccessKeyFile: {_scenario.Temp.Write("secret/secret", S3rver.Secret)}
        """;

    private static async Task<bool> S3ExistsAsync(S3rver s3, string key)
    {
        try
        {
            await s3.Client.GetObjectMetadataAsync(s3.Bucket, key);
            return true;
        }
        catch (Amazon.S3.AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    private static async Task<string?> IndexRevisionAsync(S3rver s3)
    {
        try
        {
            using var response = await s3.Client.GetObjectAsync(s3.Bucket, "prod/" + Index);
            using var document = await System.Text.Json.JsonDocument.ParseAsync(response.ResponseStream);
            return document.RootElement.GetProperty("created").GetString();
        }
        catch (Amazon.S3.AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (System.Net.Http.HttpIOException)
        {
            return null; // s3rver streamed the index while the publisher was replacing it: read again
        }
    }

    private static string HostileIndex(string revision, string path, string etag, string content) => $$"""
        {"format":"configsync.io/index/v1","revision":"{{revision}}","created":"2026-12-01T00:00:00Z","source":"attacker",
         "objects":[{"path":{{System.Text.Json.JsonSerializer.Serialize(path)}},"key":"{{Key(content)}}","etag":"{{etag}}","size":{{Encoding.UTF8.GetByteCount(content)}},"sha256":"{{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)))}}"}]}
        """;

    private static string Key(string content) => ConfigSync.Sources.ObjectKeys.For(Index, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content))));

    private static List<string> Listing(string root) =>
        [.. Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)];

    private void WriteTree(params (string Path, string Content)[] files)
    {
        if (Directory.Exists(Tree))
        {
            Directory.Delete(Tree, recursive: true);
        }

        foreach (var (path, content) in files)
        {
            _scenario.Temp.Write("tree/" + path, content);
        }
    }

    private void AssertLive(params (string Path, string Content)[] files)
    {
        var live = Directory.EnumerateFiles(_scenario.Live, "*", SearchOption.AllDirectories)
            .Select(f => (Path.GetRelativePath(_scenario.Live, f), File.ReadAllText(f))).Order().ToList();
        Assert.Equal(files.Order().ToList(), live);
    }

    private string PublishConfig(string store, string grace, string extraTop = "", string extraSync = "") =>
        _scenario.Temp.Write("publish.yaml", string.Create(CultureInfo.InvariantCulture, $"""
            {extraTop}syncs:
              - name: app
                source:
                  type: dir
                  path: {Tree}
                publish:
            {Scenario.Indent(store, 6)}
                  gracePeriod: {grace}
            {extraSync}
            """));

    private async Task<(int ExitCode, string Output)> PublishAsync(string store) =>
        await Daemon.RunAsync(["publish", "--config", PublishConfig(store, grace: "0s")]);

    private async Task<Daemon> StartReaderAsync(string store)
    {
        _scenario.WriteSourceConfig(store + $"\nindex: {Index}");
        var daemon = Daemon.Start(["run", "--config", _scenario.ConfigFile]);
        using var http = new DaemonHttp(_scenario.Port);
        await http.WaitUntilReadyAsync(daemon, Patience);
        return daemon;
    }
}
