using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ConfigSync.IntegrationTests.Support;
using ConfigSync.Sources.Git.Tests.TestSupport;
using ConfigSync.Tests.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ConfigSync.IntegrationTests;

/// <summary>
/// <c>auth.githubApp</c> with the published daemon: a stand-in of GitHub's installation-token endpoint (checking the
/// RS256 JWT against the app's public key, its issuer and lifetime, as GitHub does) mints the token that the git
/// http-backend accepts for user <c>x-access-token</c>; a token near its expiry is replaced before the next fetch,
/// a valid one reused; a wrong key or installation fails by name, and neither the JWT nor a token is printed.
/// </summary>
public sealed class GitHubAppTests : IAsyncLifetime
{
    private const string AppId = "123456";
    private const string InstallationId = "987";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly Scenario _scenario = new();
    private readonly RSA _appKey = RSA.Create(2048);
    private readonly ConcurrentQueue<string> _jwts = new();
    private string _token = NewToken();
    private WebApplication? _github;
    private WorkRepo? _repo;
    private int _port;

    private readonly ConcurrentQueue<DateTimeOffset> _arrivals = new();
    private bool _rateLimitNext;
    private bool _secondaryLimit;
    private DateTimeOffset _rateLimitedUntil = DateTimeOffset.MinValue;

    /// <summary>The lifetime of the next token minted (GitHub's is an hour).</summary>
    private TimeSpan NextLifetime { get; set; } = TimeSpan.FromHours(1);

    public async Task InitializeAsync()
    {
        _port = AppListener.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, _port));
        _github = builder.Build();
        _github.MapPost("/api/v3/app/installations/{id}/access_tokens", (string id, HttpRequest request) =>
        {
            var jwt = request.Headers.Authorization.ToString() is { } header && header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..] : string.Empty;
            _jwts.Enqueue(jwt);
            var now = DateTimeOffset.UtcNow;
            _arrivals.Enqueue(now);
            if (_rateLimitNext)
            {
                // GitHub's primary rate limit: 403, nothing left, the reset in whole Unix seconds (4-5 s from now).
                _rateLimitNext = false;
                _rateLimitedUntil = DateTimeOffset.FromUnixTimeSeconds(now.ToUnixTimeSeconds() + 5);
            }

            if (_secondaryLimit)
            {
                // GitHub's secondary limit as it may come: a bare 403 and a message, no header to say how long.
                return Results.Json(new Dictionary<string, string> { ["message"] = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again." }, statusCode: 403);
            }

            if (now < _rateLimitedUntil)
            {
                var headers = request.HttpContext.Response.Headers;
                headers["x-ratelimit-limit"] = "5000";
                headers["x-ratelimit-remaining"] = "0";
                headers["x-ratelimit-reset"] = _rateLimitedUntil.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
                return Results.Json(new Dictionary<string, string> { ["message"] = "API rate limit exceeded for installation ID " + id + "." }, statusCode: 403);
            }

            if (!ValidJwt(jwt))
            {
                return Results.Json(new Dictionary<string, string> { ["message"] = "A JSON web token could not be decoded" }, statusCode: 401);
            }

            if (id != InstallationId)
            {
                return Results.Json(new Dictionary<string, string> { ["message"] = "Not Found" }, statusCode: 404);
            }

            var expires = DateTimeOffset.UtcNow + NextLifetime;
            NextLifetime = TimeSpan.FromHours(1);
            return Results.Json(new Dictionary<string, string> { ["token"] = _token, ["expires_at"] = expires.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) }, statusCode: 201);
        });
        await _github.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_github is not null)
        {
            await _github.DisposeAsync();
        }

        _appKey.Dispose();
        _scenario.Dispose();
    }

    [Fact]
    public async Task InstallationTokens_AreMinted_ReusedWhileValid_AndReplacedBeforeTheyExpire()
    {
        await using var server = await StartGitAsync();
        NextLifetime = GitHubAppRefresh + TimeSpan.FromSeconds(3); // the first token is near its end in 3 s, reused 30 s all the same
        await using var daemon = StartDaemon(server, _appKey, InstallationId);
        using var http = new DaemonHttp(_scenario.Port);
        await http.WaitUntilReadyAsync(daemon, Patience);
        var minted = DateTimeOffset.UtcNow;
        Assert.Equal("v: 1\n", File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")));
        Assert.Single(_jwts);

        await http.SyncAndWaitAsync("app", Patience); // reused: at least 30 s, however near its expiry
        Assert.Single(_jwts);
        var rest = minted + TimeSpan.FromSeconds(31) - DateTimeOffset.UtcNow;
        await Task.Delay(rest > TimeSpan.Zero ? rest : TimeSpan.Zero);
        await http.SyncAndWaitAsync("app", Patience); // the token has less than 5 minutes left: a new one
        await http.SyncAndWaitAsync("app", Patience); // the new one is valid an hour: reused
        Assert.Equal(2, _jwts.Count);
        var status = await http.SyncStatusAsync("app");
        Assert.Equal(0, status.GetProperty("consecutiveFailures").GetInt32());
        var metrics = await http.GetStringAsync("/metrics");
        Assert.Contains("configsync_source_requests_total{sync=\"app\",operation=\"token\"} 2", metrics, StringComparison.Ordinal);
        Assert.Contains("configsync_source_requests_total{sync=\"app\",operation=\"fetch\"} 4", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain(_token, daemon.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATokenGitRefuses_IsDropped_AndTheNextFetchMintsANewOne()
    {
        await using var server = await StartGitAsync();
        await using var daemon = StartDaemon(server, _appKey, InstallationId);
        using var http = new DaemonHttp(_scenario.Port);
        await http.WaitUntilReadyAsync(daemon, Patience);
        Assert.Single(_jwts);

        // The installation's token is revoked: the git server takes only a new one, which the endpoint now mints.
        // The failure is followed by a retry within a second, so it is checked on what lasts: the log, the error count.
        _token = NewToken();
        File.WriteAllText(_scenario.Temp.Combine("http", "users"), $"x-access-token:{_token}\n");
        var trigger = DateTimeOffset.UtcNow;
        Assert.Equal(HttpStatusCode.Accepted, await http.PostAsync("/sync/app"));
        await DaemonHttp.Eventually(async () => await http.SyncStatusAsync("app") is var s
            && s.GetProperty("consecutiveFailures").GetInt32() == 0 && s.GetProperty("lastSuccess").GetDateTimeOffset() > trigger,
            Patience, () => "the sync did not recover with a new token");
        await DaemonHttp.Eventually(() => Task.FromResult(daemon.Output.Contains("refused the GitHub App installation token", StringComparison.Ordinal)), Patience, () => daemon.Output);

        // The refused attempt used the token minted first (it still looked valid for an hour), the next one a new one.
        Assert.Equal(2, _jwts.Count);
        Assert.True(_arrivals.Last() > trigger);
        Assert.Contains("configsync_sync_total{sync=\"app\",result=\"error\"} 1", await http.GetStringAsync("/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARateLimitedTokenRequest_IsWaitedOutUntilTheReset_CountedAndShownInStatus()
    {
        await using var server = await StartGitAsync();
        _rateLimitNext = true;
        await using var daemon = StartDaemon(server, _appKey, InstallationId);
        using var http = new DaemonHttp(_scenario.Port);
        await http.WaitUntilUpAsync(daemon, Patience);
        var status = await ThrottledStatusAsync(http);
        var until = _rateLimitedUntil;

        Assert.Contains("GitHub rate-limited the token request (HTTP 403)", status.GetProperty("lastError").GetString(), StringComparison.Ordinal);
        var throttled = status.GetProperty("throttled");
        Assert.Equal(1, throttled.GetProperty("answers").GetInt32());
        Assert.InRange(throttled.GetProperty("retryAfterSeconds").GetDouble(), 3, 5); // until the reset, read when answered
        Assert.True(throttled.GetProperty("until").GetDateTimeOffset() >= until - TimeSpan.FromMilliseconds(50), $"next attempt due {throttled.GetProperty("until")}, the reset is {until:O}");

        // No token request before the reset; the first after it mints, and the sync goes live.
        await http.WaitUntilReadyAsync(daemon, Patience);
        var arrivals = _arrivals.ToList();
        Assert.Single(arrivals, a => a < until);
        Assert.True(arrivals[1] >= until - TimeSpan.FromMilliseconds(50), $"asked again at {arrivals[1]:O}, before the reset {until:O}");
        Assert.Equal("v: 1\n", File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")));
        var metrics = await http.GetStringAsync("/metrics");
        Assert.Contains("configsync_source_throttled_total{sync=\"app\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("configsync_source_requests_total{sync=\"app\",operation=\"token\"} 2", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASecondaryRateLimitWithOnlyAMessage_IsWaitedOutAMinute_NotCalledARefusal()
    {
        await using var server = await StartGitAsync();
        _secondaryLimit = true;
        await using var daemon = StartDaemon(server, _appKey, InstallationId);
        using var http = new DaemonHttp(_scenario.Port);
        await http.WaitUntilUpAsync(daemon, Patience);
        var status = await ThrottledStatusAsync(http);

        Assert.Contains("GitHub rate-limited the token request (HTTP 403)", status.GetProperty("lastError").GetString(), StringComparison.Ordinal);
        var throttled = status.GetProperty("throttled");
        Assert.Equal(60, throttled.GetProperty("retryAfterSeconds").GetDouble());
        Assert.True(throttled.GetProperty("until").GetDateTimeOffset() - throttled.GetProperty("at").GetDateTimeOffset() >= TimeSpan.FromSeconds(60));
        Assert.Single(_jwts);
    }

    [Fact]
    public async Task ASubmoduleOnTheSameHost_IsFetchedWithTheInstallationToken()
    {
        await using var server = await StartGitAsync();
        var folder = Path.GetDirectoryName(_repo!.Bare)!;
        var library = new WorkRepo(Directory.CreateDirectory(_scenario.Temp.Combine("library")).FullName);
        library.Commit("lib.yaml", "shared: true\n", "lib");
        Directory.Move(library.Bare, Path.Combine(folder, "library.git")); // served beside the repository, behind the same token
        WorkRepo.Git(_repo.Work, "-c", "protocol.file.allow=always", "submodule", "add", "-q", Path.Combine(folder, "library.git"), "vendor/lib");
        WorkRepo.Git(_repo.Work, "config", "-f", ".gitmodules", "submodule.vendor/lib.url", $"http://127.0.0.1:{server.Port}/git/library.git");
        _repo.Commit("app.yaml", "v: 2\n", "with a submodule");

        await using var daemon = StartDaemon(server, _appKey, InstallationId, extraSource: "submodules: recursive");
        using var http = new DaemonHttp(_scenario.Port);
        await http.WaitUntilReadyAsync(daemon, Patience);

        Assert.Equal("shared: true\n", File.ReadAllText(Path.Combine(_scenario.Live, "vendor", "lib", "lib.yaml")));
        Assert.Single(_jwts); // one token for the repository and its submodule
        Assert.DoesNotContain(_token, daemon.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, "GitHub refused the app's JWT (HTTP 401); check appId (123456) and privateKeyFile")]
    [InlineData(true, "installation 555 of app 123456 was not found (HTTP 404); check installationId")]
    public async Task AWrongKeyOrInstallation_FailsByName_AndPrintsNoJwt(bool rightKey, string expected)
    {
        await using var server = await StartGitAsync();
        using var otherKey = RSA.Create(2048);
        await using var daemon = StartDaemon(server, rightKey ? _appKey : otherKey, rightKey ? "555" : InstallationId);
        using var http = new DaemonHttp(_scenario.Port);
        await http.WaitUntilUpAsync(daemon, Patience);
        await DaemonHttp.Eventually(async () => (await http.SyncStatusAsync("app")).GetProperty("lastError").GetString() is not null, Patience, () => "no error reported");

        Assert.Contains(expected, (await http.SyncStatusAsync("app")).GetProperty("lastError").GetString(), StringComparison.Ordinal);
        Assert.NotEmpty(_jwts);
        Assert.All(_jwts, jwt => Assert.DoesNotContain(jwt.Split('.')[2], daemon.Output, StringComparison.Ordinal));
        Assert.False(Directory.Exists(_scenario.Live));
    }

    /// <summary>The sync's status once it shows the rate limit it met.</summary>
    private static async Task<JsonElement> ThrottledStatusAsync(DaemonHttp http)
    {
        JsonElement status = default;
        await DaemonHttp.Eventually(async () => (status = await http.SyncStatusAsync("app")).GetProperty("throttled").ValueKind == JsonValueKind.Object,
            Patience, () => "/status never showed the rate limit");
        return status;
    }

    private static TimeSpan GitHubAppRefresh => TimeSpan.FromMinutes(5);

    private static string NewToken() => Captured.Secret("ghs_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(18)));

    private async Task<SmartHttpServer> StartGitAsync()
    {
        _repo = new WorkRepo(Directory.CreateDirectory(_scenario.Temp.Combine("git")).FullName);
        _repo.Commit("app.yaml", "v: 1\n", "first");
        return await SmartHttpServer.StartAsync(Path.GetDirectoryName(_repo.Bare)!, _scenario.Temp.Combine("http"), user: "x-access-token", password: _token);
    }

    private Daemon StartDaemon(SmartHttpServer server, RSA key, string installation, string extraSource = "")
    {
        var keyFile = _scenario.Temp.Write("secret/app.pem", key.ExportRSAPrivateKeyPem());
        _scenario.WriteSourceConfig($"""
            type: git
            url: http://127.0.0.1:{server.Port}/git/repo.git
            ref: main
            auth:
              githubApp:
                appId: "{AppId}"
                installationId: "{installation}"
                privateKeyFile: {keyFile}
                apiUrl: http://127.0.0.1:{_port}/api/v3
            {extraSource}
            """);
        return Daemon.Start(["run", "--config", _scenario.ConfigFile]);
    }

    /// <summary>As GitHub checks an app's JWT: RS256 over header.payload with the app's public key, issuer the app id, issued in the past, at most ten minutes.</summary>
    private bool ValidJwt(string jwt)
    {
        var parts = jwt.Split('.');
        if (parts.Length != 3)
        {
            return false;
        }

        using var header = JsonDocument.Parse(Base64Url(parts[0]));
        using var payload = JsonDocument.Parse(Base64Url(parts[1]));
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var iat = payload.RootElement.GetProperty("iat").GetInt64();
        var exp = payload.RootElement.GetProperty("exp").GetInt64();
        return header.RootElement.GetProperty("alg").GetString() == "RS256"
            && payload.RootElement.GetProperty("iss").ToString() == AppId
            && iat <= now && exp > now && exp - iat <= 600
            && _appKey.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), Base64Url(parts[2]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
    }

    private static byte[] Base64Url(string text)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(padded.PadRight(padded.Length + ((4 - (padded.Length % 4)) % 4), '='));
    }
}
