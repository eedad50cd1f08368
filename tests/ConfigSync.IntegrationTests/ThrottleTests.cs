using System.Globalization;
using System.Net;
using System.Text.Json;
using ConfigSync.IntegrationTests.Support;
using ConfigSync.Sources.AzureBlob.Tests.TestSupport;
using ConfigSync.Sources.Git.Tests.TestSupport;
using ConfigSync.Sources.S3.Tests.TestSupport;

namespace ConfigSync.IntegrationTests;

/// <summary>
/// An origin that throttles (HTTP 429 or 503, with or without <c>Retry-After</c>), played by the counting proxy in
/// front of the real s3rver, Azurite and git http-backend, with the published daemon: the next attempt comes no
/// sooner than the origin asked, every throttling answer is counted in <c>configsync_source_throttled_total</c>
/// (the SDK's own retries included, checked against the proxy's count), <c>/status</c> says so, and the live tree
/// stays. <c>configsync_source_requests_total</c> is checked against what the origin saw.
/// </summary>
public sealed class ThrottleTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly Scenario _scenario = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        _scenario.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task S3_SlowDownWithRetryAfterSeconds_IsWaitedOut_Counted_AndShownInStatus()
    {
        await using var s3 = await S3rver.StartAsync(_scenario.Temp.Combine("s3"));
        await s3.PutAsync("prod/app.yaml", "v: 1\n");
        await using var proxy = await CountingProxy.StartAsync(s3.Endpoint);
        var keyId = _scenario.Temp.Write("secret/key-id", S3rver.KeyId);
        var secret = _scenario.Temp.Write("secret/secret", S3rver.Secret);
        await ThrottledAsync(proxy, $"""
            type: s3
            bucket: {s3.Bucket}
            prefix: prod
            region: us-east-1
            endpoint: {proxy.Url}
            auth:
              accessKeyIdFile: {keyId}
              secretAccessKeyFile: {secret}
            """,
            (503, () => "4", "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"),
            (4, 4),
            "throttling requests (SlowDown)");
    }

    [Fact]
    public async Task AzureBlob_429WithRetryAfterDate_IsWaitedOut_NotRetriedInsideTheAttempt()
    {
        await using var azurite = await Azurite.StartAsync();
        var container = await azurite.CreateContainerAsync("config");
        await container.PutAsync("prod/app.yaml", "v: 1\n");
        await using var proxy = await CountingProxy.StartAsync($"http://127.0.0.1:{azurite.Port}");
        var connection = _scenario.Temp.Write("secret/connection-string", azurite.ConnectionString.Replace($"127.0.0.1:{azurite.Port}", $"127.0.0.1:{proxy.Port}", StringComparison.Ordinal));

        // An HTTP date has a resolution of one second: the answer asks for 6 s from when it is given, whole seconds.
        var answersBefore = await ThrottledAsync(proxy, $"""
            type: azureblob
            container: config
            prefix: prod
            auth:
              connectionStringFile: {connection}
            """,
            (429, () => DateTimeOffset.UtcNow.AddSeconds(6).ToString("r", CultureInfo.InvariantCulture), "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>ServerBusy</Code><Message>Ingress is over the account limit.</Message></Error>"),
            (4.0, 6), // 6 s after the answer, in whole seconds: 5-6 s, read when the answer arrives (later on a loaded machine)
            "throttling requests (ServerBusy)");

        // The client does not retry a throttling answer itself (the loop waits instead): one answer per attempt.
        Assert.Equal(1, answersBefore);
    }

    [Fact]
    public async Task GitOverHttp_429_IsNamed_Counted_AndBackedOff()
    {
        var repo = new WorkRepo(Directory.CreateDirectory(_scenario.Temp.Combine("git")).FullName);
        repo.Commit("app.yaml", "v: 1\n", "first");
        await using var server = await SmartHttpServer.StartAsync(Path.GetDirectoryName(repo.Bare)!, _scenario.Temp.Combine("http"));
        await using var proxy = await CountingProxy.StartAsync($"http://127.0.0.1:{server.Port}");
        var password = _scenario.Temp.Write("secret/password", SmartHttpServer.Password);
        await ThrottledAsync(proxy, $"""
            type: git
            url: {proxy.Url}/git/repo.git
            ref: main
            auth:
              username: {SmartHttpServer.User}
              passwordFile: {password}
            """,
            (429, () => null, "slow down"),
            null,
            "is throttling requests",
            sameRequests: false);
    }

    /// <summary>
    /// Publishes through the proxy, then throttles every request and triggers a sync; checks the failed attempt's
    /// status and metrics, that no request reaches the origin before <paramref name="retryAfter"/> (or the first
    /// backoff) passed, and that the sync recovers once the origin answers. Returns the throttling answers of the first
    /// throttled attempt.
    /// </summary>
    private async Task<int> ThrottledAsync(CountingProxy proxy, string source, (int Status, Func<string?> RetryAfter, string Body) throttle, (double Min, double Max)? retryAfter, string message, bool sameRequests = true)
    {
        _scenario.WriteSourceConfig(source);
        await using var daemon = Daemon.Start(["run", "--config", _scenario.ConfigFile]);
        using var http = new DaemonHttp(_scenario.Port);
        await http.WaitUntilReadyAsync(daemon, Patience);
        Assert.Equal("v: 1\n", File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")));

        // Every request the origin saw so far is in the metric, by operation.
        // (A git fetch is two HTTP requests or more, info/refs and upload-pack: the metric counts the one operation.)
        var before = proxy.Requests.Count;
        Assert.Equal(sameRequests ? before : 1, await MetricSumAsync(http, "configsync_source_requests_total"));
        Assert.Equal(0, await MetricSumAsync(http, "configsync_source_throttled_total"));

        proxy.Throttle = throttle;
        Assert.Equal(HttpStatusCode.Accepted, await http.PostAsync("/sync/app"));
        JsonElement status = default, throttled = default;
        await DaemonHttp.Eventually(async () =>
        {
            status = await http.SyncStatusAsync("app");
            return status.TryGetProperty("throttled", out throttled) && throttled.ValueKind == JsonValueKind.Object;
        }, Patience, () => "/status never showed the throttling");
        proxy.Throttle = null;

        // Everything is read from that one snapshot and from the answers given before it was recorded: without a
        // Retry-After the next attempt may come (and be throttled, or succeed) before the lines below run.
        var at = throttled.GetProperty("at").GetDateTimeOffset();
        var firstAttempt = proxy.ThrottledTimes.Where(t => t.At <= at).ToList();
        var answers = firstAttempt.Count;
        var lastAnswer = firstAttempt[^1].Arrival;
        Assert.Contains(message, status.GetProperty("lastError").GetString(), StringComparison.Ordinal);
        Assert.Equal(answers, throttled.GetProperty("answers").GetInt32());
        var until = throttled.GetProperty("until").GetDateTimeOffset();
        var asked = TimeSpan.Zero;
        if (retryAfter is { } range)
        {
            var seconds = throttled.GetProperty("retryAfterSeconds").GetDouble();
            Assert.InRange(seconds, range.Min, range.Max);
            asked = TimeSpan.FromSeconds(seconds);
            Assert.True(until - at >= asked, $"next attempt due {until - at} after the throttled one, Retry-After asked {asked}");
        }
        else
        {
            Assert.Equal(JsonValueKind.Null, throttled.GetProperty("retryAfterSeconds").ValueKind);
        }

        // The live tree and readiness are untouched while the origin throttles.
        Assert.Equal(HttpStatusCode.OK, await http.StatusOfAsync("/readyz"));
        Assert.Equal("v: 1\n", File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")));

        // The next request to the origin comes no sooner than it asked, and the sync then recovers.
        await DaemonHttp.Eventually(async () =>
            (await http.SyncStatusAsync("app")).GetProperty("consecutiveFailures").GetInt32() == 0, Patience, () => "the sync did not recover after the throttling ended");
        var next = proxy.Arrivals.First(a => a > lastAnswer);
        Assert.True(next - lastAnswer >= (retryAfter is null ? TimeSpan.FromMilliseconds(100) : asked) - TimeSpan.FromMilliseconds(50), $"the origin was asked again {next - lastAnswer} after it throttled");
        Assert.Equal(JsonValueKind.Null, (await http.SyncStatusAsync("app")).GetProperty("throttled").ValueKind);
        Assert.Equal(proxy.ThrottledAnswers, await MetricSumAsync(http, "configsync_source_throttled_total")); // every answer, a retry's included
        if (sameRequests)
        {
            Assert.Equal(proxy.Requests.Count, await MetricSumAsync(http, "configsync_source_requests_total"));
        }

        return answers;
    }

    /// <summary>The sum of a metric's series for sync "app".</summary>
    private static async Task<long> MetricSumAsync(DaemonHttp http, string name) =>
        (long)(await http.GetStringAsync("/metrics")).Split('\n')
            .Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) && l.Contains("sync=\"app\"", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
}
