using System.Net;

namespace ConfigSync.Sources;

/// <summary>
/// The HTTP handler under a storage SDK's client: counts every request it sends (each retry included) by the
/// operation <paramref name="classify"/> names, and reports throttling answers (429, 503, and a rate-limited 403 where
/// <see cref="RateLimitsAnswer403"/>) with the wait they ask for to the <see cref="SourceMeter"/>.
/// </summary>
/// <param name="meter">Where counts go.</param>
/// <param name="classify">The operation label of a request (see <see cref="SourceMeter"/>'s constants).</param>
/// <param name="time">The clock, for a <c>Retry-After</c> given as a date.</param>
public sealed class MeteredHttpHandler(SourceMeter meter, Func<HttpRequestMessage, string> classify, TimeProvider time) : DelegatingHandler
{
    /// <summary>The longest wait an origin's <c>Retry-After</c> is obeyed for; a longer one is cut to it.</summary>
    public static readonly TimeSpan LongestRetryAfter = TimeSpan.FromHours(1);

    /// <summary>Whether an HTTP status means the origin is throttling (429 Too Many Requests, 503 Service Unavailable: S3 SlowDown, Azure ServerBusy).</summary>
    public static bool IsThrottling(int status) => status is 429 or 503;

    /// <summary>
    /// Whether the origin answers a rate limit with 403, as GitHub's API does (<c>x-ratelimit-remaining: 0</c> for the
    /// primary limit, <c>Retry-After</c> for a secondary one). Only for such an API: to an object store a 403 is a
    /// refusal (AccessDenied) whatever headers a proxy in front of it adds, and is never waited on.
    /// </summary>
    public bool RateLimitsAnswer403 { get; init; }

    /// <summary>
    /// Whether an answer means the origin is throttling: 429 or 503, or, where <paramref name="rateLimited403"/>, a 403
    /// that says it is a rate limit (<c>x-ratelimit-remaining: 0</c>, or a <c>Retry-After</c>). Any other 403 is a
    /// refusal (a bad credential, no access).
    /// </summary>
    public static bool IsThrottling(HttpResponseMessage response, bool rateLimited403) =>
        IsThrottling((int)response.StatusCode)
        || (rateLimited403 && response.StatusCode == HttpStatusCode.Forbidden && (RateLimitExhausted(response) || response.Headers.RetryAfter is not null));

    /// <summary>
    /// The wait a throttling answer asks for, at most <see cref="LongestRetryAfter"/>: its <c>Retry-After</c> (seconds or
    /// a date), else, when its rate limit is used up, until <c>x-ratelimit-reset</c> (Unix seconds: GitHub, GitLab's
    /// <c>RateLimit-Reset</c>). Null when it names none, or one in the past.
    /// </summary>
    public static TimeSpan? RetryAfter(HttpResponseMessage response, DateTimeOffset now)
    {
        var wait = response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - now,
            _ when RateLimitExhausted(response) && Header(response, "x-ratelimit-reset", "ratelimit-reset") is { } reset
                && long.TryParse(reset, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var epoch)
                && epoch < DateTimeOffset.MaxValue.ToUnixTimeSeconds() => DateTimeOffset.FromUnixTimeSeconds(epoch) - now,
            _ => (TimeSpan?)null,
        };
        return wait is not { } value || value <= TimeSpan.Zero ? null : value > LongestRetryAfter ? LongestRetryAfter : value;
    }

    /// <summary>Whether the answer says its rate limit is used up (<c>x-ratelimit-remaining: 0</c>, or GitLab's <c>RateLimit-Remaining: 0</c>).</summary>
    private static bool RateLimitExhausted(HttpResponseMessage response) =>
        Header(response, "x-ratelimit-remaining", "ratelimit-remaining") is "0";

    private static string? Header(HttpResponseMessage response, params ReadOnlySpan<string> names)
    {
        foreach (var name in names)
        {
            if (response.Headers.TryGetValues(name, out var values) && values.FirstOrDefault() is { } value)
            {
                return value.Trim();
            }
        }

        return null;
    }

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        meter.Request(classify(request));
        var response = await base.SendAsync(request, cancellationToken);
        if (IsThrottling(response, RateLimitsAnswer403))
        {
            meter.Throttled(RetryAfter(response, time.GetUtcNow()));
        }

        return response;
    }

    /// <summary>The operation of a request to an object store: a GET with a listing query is a list, else by method.</summary>
    public static string ObjectStoreOperation(HttpRequestMessage request, Func<string, bool> isListing)
    {
        var method = request.Method;
        if (method == HttpMethod.Get)
        {
            return isListing(request.RequestUri?.Query ?? string.Empty) ? SourceMeter.List : SourceMeter.Get;
        }

        return method == HttpMethod.Head ? SourceMeter.Head
            : method == HttpMethod.Put || method == HttpMethod.Post ? SourceMeter.Put
            : method == HttpMethod.Delete ? SourceMeter.Delete
            : method.Method.ToLowerInvariant();
    }

    /// <summary>A handler for the SDKs: no redirects followed by the handler (the SDKs handle them), no decompression, connections recycled.</summary>
    public static SocketsHttpHandler Transport() => new()
    {
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectTimeout = TimeSpan.FromSeconds(10),
    };
}
