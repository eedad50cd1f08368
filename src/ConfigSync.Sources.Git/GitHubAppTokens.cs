using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ConfigSync.Diagnostics;

namespace ConfigSync.Sources.Git;

/// <summary>
/// Installation tokens of a GitHub App (<c>auth.githubApp</c>), as git-sync mints them: a JWT signed with the app's
/// private key (RS256, issued a minute in the past, valid nine minutes) is exchanged at
/// <c>POST {apiUrl}/app/installations/{id}/access_tokens</c> for a token valid an hour, used as the password of user
/// <c>x-access-token</c>. A token is reused until five minutes before it expires; the key file is read at each
/// mint (a rotated Secret works). Tokens are registered with <see cref="Redact"/>; a token git refuses is dropped.
/// </summary>
internal sealed class GitHubAppTokens : IDisposable
{
    /// <summary>The largest answer read from the token endpoint.</summary>
    private const int MaxAnswerBytes = 64 * 1024;

    /// <summary>A token is replaced this long before it expires.</summary>
    public static readonly TimeSpan RefreshBefore = TimeSpan.FromMinutes(5);

    /// <summary>A token is reused at least this long, whatever expiry the endpoint claims.</summary>
    public static readonly TimeSpan ShortestReuse = TimeSpan.FromSeconds(30);

    /// <summary>How long a secondary rate limit without a wait of its own is waited out (GitHub: "at least one minute").</summary>
    public static readonly TimeSpan SecondaryLimitWait = TimeSpan.FromMinutes(1);

    private readonly GitHubAppOptions _options;
    private readonly SourceMeter _meter;
    private readonly TimeProvider _time;
    private readonly HttpClient _http;
    private (string Token, DateTimeOffset ReuseUntil)? _current;

    public GitHubAppTokens(GitHubAppOptions options, SourceMeter meter, TimeProvider time)
    {
        _options = options;
        _meter = meter;
        _time = time;
        _http = new HttpClient(new MeteredHttpHandler(meter, static _ => SourceMeter.Token, time) { InnerHandler = MeteredHttpHandler.Transport(), RateLimitsAnswer403 = true })
        {
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    /// <summary>A token valid for at least <see cref="RefreshBefore"/>, minted when needed.</summary>
    /// <exception cref="SourceException">The key or the endpoint failed (named; no secret in the message).</exception>
    public async Task<string> TokenAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (_current is { } current && now < current.ReuseUntil)
        {
            return current.Token;
        }

        var url = new Uri($"{_options.ApiUrl.ToString().TrimEnd('/')}/app/installations/{_options.InstallationId}/access_tokens");
        using var request = new HttpRequestMessage(HttpMethod.Post, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Jwt(now));
        request.Headers.Accept.ParseAdd("application/vnd.github+json");
        request.Headers.UserAgent.ParseAdd("configsync");
        request.Headers.Add("X-GitHub-Api-Version", "2022-11-28");
        string body;
        System.Net.HttpStatusCode status;
        bool rateLimited;
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            status = response.StatusCode;
            rateLimited = (int)status is 403 or 429 && MeteredHttpHandler.IsThrottling(response, rateLimited403: true); // a 503 is an outage, not a limit
            using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            body = Encoding.UTF8.GetString(await BoundedRead.ReadAllAsync(
                stream, MaxAnswerBytes, () => $"auth.githubApp: the token endpoint's answer is larger than {MaxAnswerBytes / 1024} KiB", cancellationToken));
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new SourceException($"auth.githubApp: the token endpoint {Redact.Url(url.ToString())} cannot be reached: {Errors.Describe(e)}", e);
        }

        if (status == System.Net.HttpStatusCode.Forbidden && !rateLimited && body.Contains("rate limit", StringComparison.OrdinalIgnoreCase))
        {
            // GitHub's secondary limit may come as a bare 403 with only its message; GitHub asks for at least a minute.
            rateLimited = true;
            _meter.Throttled(SecondaryLimitWait);
        }

        if (status != System.Net.HttpStatusCode.Created && status != System.Net.HttpStatusCode.OK)
        {
            throw new SourceException((int)status switch
            {
                _ when rateLimited => $"auth.githubApp: GitHub rate-limited the token request (HTTP {(int)status}); the next attempt waits as it asked",
                401 => $"auth.githubApp: GitHub refused the app's JWT (HTTP 401); check appId ({_options.AppId}) and privateKeyFile",
                403 => $"auth.githubApp: GitHub refused to mint a token (HTTP 403: the app is suspended, or lacks access to the installation's repositories)",
                404 => $"auth.githubApp: installation {_options.InstallationId} of app {_options.AppId} was not found (HTTP 404); check installationId",
                _ => $"auth.githubApp: the token endpoint answered HTTP {(int)status}",
            });
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            var token = document.RootElement.GetProperty("token").GetString() ?? throw new KeyNotFoundException();
            if (token.Length is < 8 or > 4096 || token.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
            {
                throw new SourceException("auth.githubApp: the token endpoint's answer holds no usable token (empty, too long, or with spaces or control characters)");
            }

            var expires = document.RootElement.GetProperty("expires_at").GetDateTimeOffset();
            Redact.Register(token);

            // Reused until five minutes before it expires, and at least ShortestReuse: an answer whose expiry is near or
            // past (clock skew, a hostile endpoint) costs two mints a minute, not one per poll.
            var reuseUntil = expires - RefreshBefore;
            _current = (token, reuseUntil > now + ShortestReuse ? reuseUntil : now + ShortestReuse);
            return token;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new SourceException("auth.githubApp: the token endpoint's answer has no 'token' and 'expires_at'", e);
        }
    }

    /// <summary>Forgets the token (git refused it: revoked, or the app was reinstalled); the next fetch mints a new one.</summary>
    public void Invalidate() => _current = null;

    public void Dispose() => _http.Dispose();

    private string Jwt(DateTimeOffset now)
    {
        var pem = SecretFile.Read(_options.PrivateKeyFile, "auth.githubApp.privateKeyFile");
        using var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            throw new SourceException("auth.githubApp.privateKeyFile: not an RSA private key in PEM (the .pem file GitHub gives for the app)", e);
        }

        var header = Base64Url("""{"alg":"RS256","typ":"JWT"}"""u8);
        var payload = Base64Url(Encoding.UTF8.GetBytes(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $$"""{"iat":{{now.AddSeconds(-60).ToUnixTimeSeconds()}},"exp":{{now.AddMinutes(9).ToUnixTimeSeconds()}},"iss":"{{_options.AppId}}"}""")));
        var signature = rsa.SignData(Encoding.ASCII.GetBytes($"{header}.{payload}"), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        // Not registered with Redact: it goes only into the Authorization header (a new one per mint would push
        // older secrets out of Redact's bounded list).
        return $"{header}.{payload}.{Base64Url(signature)}";
    }

    private static string Base64Url(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
