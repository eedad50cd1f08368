using System.Net;

namespace ConfigSync.Sources;

/// <summary>
/// The HTTP handler under a storage SDK's client: counts every request it sends (each retry included) by the
/// operation <paramref name="classify"/> names, and reports answers 429 and 503 with their <c>Retry-After</c>
/// (seconds or a date) to the <see cref="SourceMeter"/>.
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

    /// <summary>The wait a <c>Retry-After</c> header asks for, at most <see cref="LongestRetryAfter"/>; null when there is none or it is in the past.</summary>
    public static TimeSpan? RetryAfter(HttpResponseMessage response, DateTimeOffset now)
    {
        var wait = response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - now,
            _ => (TimeSpan?)null,
        };
        return wait is not { } value || value <= TimeSpan.Zero ? null : value > LongestRetryAfter ? LongestRetryAfter : value;
    }

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        meter.Request(classify(request));
        var response = await base.SendAsync(request, cancellationToken);
        if (IsThrottling((int)response.StatusCode))
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
