using System.Net;
using ConfigSync.IntegrationTests.Support;
using ConfigSync.Sources.AzureBlob.Tests.TestSupport;
using ConfigSync.Sources.S3.Tests.TestSupport;

namespace ConfigSync.IntegrationTests;

/// <summary>
/// The request budget of a poll, counted where the storage server sees it (a forwarding proxy in
/// front of s3rver and Azurite), with the daemon process: an unchanged bucket costs one LIST per
/// page (S3 pages hold 1,000 keys, Azure's up to 5,000) and no GET; one changed object costs exactly
/// one GET. Exact counts, not timings (the timings are in bench/, docs/benchmarks.md).
/// </summary>
public sealed class RequestCountTests : IAsyncLifetime
{
    private const int Objects = 1_001;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly Scenario _scenario = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        _scenario.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task S3_NoChangePoll_IsOneListPerThousandKeys_AndNoGet_OneChangeIsOneGet()
    {
        await using var s3 = await S3rver.StartAsync(_scenario.Temp.Combine("s3"));
        await SeedAsync(i => s3.PutAsync(Key(i), S3rver.Text(i)));
        await using var proxy = await CountingProxy.StartAsync(s3.Endpoint);
        var keyId = _scenario.Temp.Write("secret/key-id", S3rver.KeyId);
        var secret = _scenario.Temp.Write("secret/secret", S3rver.Secret);

        await CountAsync(proxy, $"""
            type: s3
            bucket: {s3.Bucket}
            prefix: prod
            region: us-east-1
            endpoint: {proxy.Url}
            auth:
              accessKeyIdFile: {keyId}
              secretAccessKeyFile: {secret}
            """, () => s3.PutAsync(Key(500), "changed"), expectedPages: 2);
    }

    [Fact]
    public async Task AzureBlob_NoChangePoll_IsOneListPage_AndNoGet_OneChangeIsOneGet()
    {
        await using var azurite = await Azurite.StartAsync();
        var container = await azurite.CreateContainerAsync("config");
        await SeedAsync(i => container.PutAsync(Key(i), S3rver.Text(i)));
        await using var proxy = await CountingProxy.StartAsync($"http://127.0.0.1:{azurite.Port}");
        var connection = _scenario.Temp.Write("secret/connection-string", azurite.ConnectionString.Replace($"127.0.0.1:{azurite.Port}", $"127.0.0.1:{proxy.Port}", StringComparison.Ordinal));

        await CountAsync(proxy, $"""
            type: azureblob
            container: config
            prefix: prod
            auth:
              connectionStringFile: {connection}
            """, () => container.PutAsync(Key(500), "changed"), expectedPages: 1);
    }

    private static string Key(int i) => $"prod/dir{i % 20}/file{i}.yaml";

    private static async Task SeedAsync(Func<int, Task> put)
    {
        using var gate = new SemaphoreSlim(16);
        await Task.WhenAll(Enumerable.Range(0, Objects).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                await put(i);
            }
            finally
            {
                gate.Release();
            }
        }));
    }

    private async Task CountAsync(CountingProxy proxy, string source, Func<Task> change, int expectedPages)
    {
        _scenario.WriteSourceConfig(source);
        await using var daemon = Daemon.Start(["run", "--config", _scenario.ConfigFile]);
        using var http = new DaemonHttp(_scenario.Port);
        await http.WaitUntilReadyAsync(daemon, Patience);
        Assert.Equal(Objects, Directory.EnumerateFiles(_scenario.Live, "*.yaml", SearchOption.AllDirectories).Count());
        var initial = (proxy.Lists, proxy.Gets, All: proxy.Requests.Count);

        await http.SyncAndWaitAsync("app", Patience);
        var noChange = (proxy.Lists, proxy.Gets, All: proxy.Requests.Count);
        await change();
        var beforeChange = proxy.Requests.Count;
        await http.SyncAndWaitAsync("app", Patience);
        var oneChange = (proxy.Lists, proxy.Gets, All: proxy.Requests.Count);

        Assert.Equal((expectedPages, Objects), (initial.Lists, initial.Gets));
        Assert.Equal((expectedPages, 0), (noChange.Lists - initial.Lists, noChange.Gets - initial.Gets));
        Assert.Equal(expectedPages, noChange.All - initial.All);
        Assert.Equal((expectedPages, 1), (oneChange.Lists - noChange.Lists, oneChange.Gets - noChange.Gets));
        Assert.Equal(expectedPages + 1, oneChange.All - beforeChange);
        Assert.Equal("changed", File.ReadAllText(Path.Combine(_scenario.Live, "dir0", "file500.yaml")));

        // configsync_source_requests_total counts what the origin saw, by operation.
        var metrics = await http.GetStringAsync("/metrics");
        Assert.Equal((proxy.Lists, proxy.Gets), (Requests(metrics, "list"), Requests(metrics, "get")));
    }

    private static int Requests(string metrics, string operation) =>
        (int)double.Parse(metrics.Split('\n').Single(l => l.StartsWith("configsync_source_requests_total{", StringComparison.Ordinal) && l.Contains($"operation=\"{operation}\"", StringComparison.Ordinal)).Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture);
}
