using System.Net;
using System.Security.Cryptography;
using System.Text;
using ConfigSync.IntegrationTests.Support;

namespace ConfigSync.IntegrationTests;

/// <summary>
/// POST /webhook/{name} on the daemon process, with deliveries shaped like GitHub's and GitLab's
/// documented push events (signed with the real algorithms), against a git repository over file://.
/// The sync polls hourly, so a new revision can only come from an accepted webhook.
/// </summary>
public sealed class WebhookTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly Scenario _scenario = new();
    private readonly WorkRepo _repo;
    private readonly string _secret = Captured.Secret("webhook-shared-secret-4711");

    public WebhookTests()
    {
        _repo = new WorkRepo(_scenario.Temp.Path);
    }

    public void Dispose() => _scenario.Dispose();

    [Fact]
    public async Task GitHubPush_Signed_ForTheTrackedBranch_SyncsNow_WhileForgedOtherRefAndPingDoNot()
    {
        await using var daemon = await StartReadyAsync();
        using var http = new DaemonHttp(_scenario.Port);
        var second = _repo.Commit("app.yaml", "v: 2", "two");

        using var forged = await SendAsync(GitHubPush("refs/heads/main", second), ("X-GitHub-Event", "push"), ("X-Hub-Signature-256", "sha256=" + new string('0', 64)));
        using var unsigned = await SendAsync(GitHubPush("refs/heads/main", second), ("X-GitHub-Event", "push"));
        using var otherBranch = await SendAsync(GitHubPush("refs/heads/feature", second), GitHubHeaders("push", GitHubPush("refs/heads/feature", second)));
        using var ping = await SendAsync("""{"zen":"Keep it logically awesome.","hook_id":1}""", GitHubHeaders("ping", """{"zen":"Keep it logically awesome.","hook_id":1}"""));
        var unchanged = await http.SyncStatusAsync("app");
        using var push = await SendAsync(GitHubPush("refs/heads/main", second), GitHubHeaders("push", GitHubPush("refs/heads/main", second)));

        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        Assert.Contains("the signature does not match", await forged.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, unsigned.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, otherBranch.StatusCode);
        Assert.Contains("refs/heads/feature is not the ref this sync tracks", await otherBranch.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Accepted, ping.StatusCode);
        Assert.Contains("\"ignored\": \"ping\"", await ping.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Accepted, push.StatusCode);
        Assert.Contains("\"queued\": true", await push.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.NotEqual(second, unchanged.GetProperty("revision").GetString());
        await DaemonHttp.Eventually(async () => (await http.SyncStatusAsync("app")).GetProperty("revision").GetString() == second, Patience, () => "the push did not publish " + second);
        Assert.Equal("v: 2", File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")));
        var metrics = await http.GetStringAsync("/metrics");
        Assert.Contains("configsync_webhook_total{sync=\"app\",result=\"unauthorized\"} 2", metrics, StringComparison.Ordinal);
        Assert.Contains("configsync_webhook_total{sync=\"app\",result=\"ignored\"} 2", metrics, StringComparison.Ordinal);
        Assert.Contains("configsync_webhook_total{sync=\"app\",result=\"accepted\"} 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GitLabToken_AndGenericHmac_SyncNow_AndAnOversizedBodyIsRefusedUnread()
    {
        await using var daemon = await StartReadyAsync();
        using var http = new DaemonHttp(_scenario.Port);

        var second = _repo.Commit("app.yaml", "v: 2", "two");
        var gitlab = $$"""{"object_kind":"push","event_name":"push","ref":"refs/heads/main","checkout_sha":"{{second}}","project":{"id":15,"name":"config","default_branch":"main"},"commits":[],"total_commits_count":1}""";
        using var wrongToken = await SendAsync(gitlab, ("X-Gitlab-Event", "Push Hook"), ("X-Gitlab-Token", "not-the-secret"));
        using var gitlabPush = await SendAsync(gitlab, ("X-Gitlab-Event", "Push Hook"), ("X-Gitlab-Token", _secret));
        await DaemonHttp.Eventually(async () => (await http.SyncStatusAsync("app")).GetProperty("revision").GetString() == second, Patience, () => "the GitLab push did not publish");

        var third = _repo.Commit("app.yaml", "v: 3", "three");
        var generic = """{"event":"config-changed"}""";
        using var hmac = await SendAsync(generic, ("X-Signature-256", Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(_secret), Encoding.UTF8.GetBytes(generic)))));
        await DaemonHttp.Eventually(async () => (await http.SyncStatusAsync("app")).GetProperty("revision").GetString() == third, Patience, () => "the HMAC delivery did not publish");

        using var huge = await SendAsync(new string('x', 70_000), ("X-Signature-256", "sha256=00"));

        Assert.Equal(HttpStatusCode.Unauthorized, wrongToken.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, gitlabPush.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, hmac.StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
        var metrics = await http.GetStringAsync("/metrics");
        Assert.Contains("configsync_webhook_total{sync=\"app\",result=\"too_large\"} 1", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain(_secret, daemon.Output, StringComparison.Ordinal);
    }

    /// <summary>Commits a first revision and starts the daemon with an hourly interval and a webhook; returns once it is ready.</summary>
    private async Task<Daemon> StartReadyAsync()
    {
        _repo.Commit("app.yaml", "v: 1", "one");
        var secretFile = _scenario.Temp.Write("webhook-secret", _secret + "\n");
        _scenario.WriteSourceConfig(
            $"""
            type: git
            url: {_repo.FileUrl}
            ref: main
            """,
            sync: $"""
            interval: 1h
            webhook:
              secretFile: {secretFile}
              maxBodySize: 64Ki
            """);
        var daemon = Daemon.Start(["run", "--config", _scenario.ConfigFile]);
        using var http = new DaemonHttp(_scenario.Port);
        await http.WaitUntilReadyAsync(daemon, Patience);
        return daemon;
    }

    // The fields GitHub documents for a push event that a receiver reads (ref, after, repository.default_branch).
    private static string GitHubPush(string @ref, string after) =>
        $$"""{"ref":"{{@ref}}","before":"0000000000000000000000000000000000000000","after":"{{after}}","created":false,"deleted":false,"forced":false,"repository":{"id":1296269,"full_name":"acme/config","default_branch":"main"},"pusher":{"name":"octocat","email":"octocat@github.com"},"commits":[],"head_commit":null}""";

    private (string, string)[] GitHubHeaders(string @event, string body) =>
    [
        ("X-GitHub-Event", @event),
        ("X-GitHub-Delivery", Guid.NewGuid().ToString()),
        ("X-Hub-Signature-256", "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(_secret), Encoding.UTF8.GetBytes(body)))),
    ];

    private async Task<HttpResponseMessage> SendAsync(string body, params (string Name, string Value)[] headers)
    {
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_scenario.Port}") };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/webhook/app") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        var response = await client.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }
}
