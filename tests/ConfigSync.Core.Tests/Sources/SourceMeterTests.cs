using System.Net;
using ConfigSync.Diagnostics;
using ConfigSync.Sources;
using ConfigSync.Sync;
using Microsoft.Extensions.Time.Testing;

namespace ConfigSync.Tests.Sources;

public sealed class SourceMeterTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("GET", "/bucket?list-type=2&prefix=p%2F", "list")]
    [InlineData("GET", "/bucket/p/a.yaml", "get")]
    [InlineData("HEAD", "/bucket/p/a.yaml", "head")]
    [InlineData("PUT", "/bucket/p/a.yaml", "put")]
    [InlineData("DELETE", "/bucket/p/a.yaml", "delete")]
    public async Task Requests_AreCountedByOperation_InTheMetric(string method, string path, string operation)
    {
        var metrics = new SyncMetrics();
        var meter = new SourceMeter("app", metrics);
        using var client = Client(meter, HttpStatusCode.OK, null);

        await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), "http://origin" + path));
        await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), "http://origin" + path));

        Assert.Equal(2, meter.Count(operation));
        Assert.Equal(2, metrics.SourceRequests.WithLabels("app", operation).Value);
        Assert.Null(meter.Take());
        Assert.Equal(0, metrics.SourceThrottled.WithLabels("app").Value);
    }

    [Theory]
    [InlineData(429, "7", 7.0)]
    [InlineData(503, "0", null)]
    [InlineData(503, null, null)]
    [InlineData(429, "86400", 3600.0)]
    public async Task ThrottlingAnswers_AreCounted_WithTheirRetryAfterInSeconds_CappedAtAnHour(int status, string? retryAfter, double? expected)
    {
        var metrics = new SyncMetrics();
        var meter = new SourceMeter("app", metrics);
        using var client = Client(meter, (HttpStatusCode)status, retryAfter);

        await client.GetAsync("http://origin/bucket/a");

        var taken = meter.Take();
        Assert.NotNull(taken);
        Assert.Equal(1, taken.Answers);
        Assert.Equal(expected, taken.RetryAfter?.TotalSeconds);
        Assert.Equal(1, metrics.SourceThrottled.WithLabels("app").Value);
        Assert.Null(meter.Take()); // taken once
    }

    [Fact]
    public async Task RetryAfterAsADate_IsTheTimeUntilIt_AndADatePassedAsksNoWait()
    {
        var meter = new SourceMeter("app", null);
        using (var client = Client(meter, HttpStatusCode.TooManyRequests, Now.AddSeconds(30).ToString("r")))
        {
            await client.GetAsync("http://origin/a");
        }

        Assert.Equal(TimeSpan.FromSeconds(30), meter.Take()!.RetryAfter);
        using (var client = Client(meter, HttpStatusCode.TooManyRequests, Now.AddSeconds(-30).ToString("r")))
        {
            await client.GetAsync("http://origin/a");
        }

        Assert.Null(meter.Take()!.RetryAfter);
    }

    [Fact]
    public async Task SeveralAnswers_KeepTheLongestRetryAfter()
    {
        var meter = new SourceMeter("app", null);
        foreach (var seconds in new[] { "3", "9", "5" })
        {
            using var client = Client(meter, HttpStatusCode.ServiceUnavailable, seconds);
            await client.GetAsync("http://origin/a");
        }

        Assert.Equal(new Throttling(3, TimeSpan.FromSeconds(9)), meter.Take());
    }

    [Fact]
    public async Task OtherErrors_AreNotThrottling()
    {
        var meter = new SourceMeter("app", null);
        foreach (var status in new[] { HttpStatusCode.InternalServerError, HttpStatusCode.NotModified, HttpStatusCode.BadGateway })
        {
            using var client = Client(meter, status, "5");
            await client.GetAsync("http://origin/a");
        }

        // To GitHub's API a 403 is a refusal (a bad token) unless it says it is a rate limit; a limit with some left is none.
        foreach (var headers in new[] { [], new[] { ("x-ratelimit-remaining", "12"), ("x-ratelimit-reset", Reset(60)) }, [("x-ratelimit-reset", Reset(60))] })
        {
            using var client = GitHubClient(meter, HttpStatusCode.Forbidden, null, headers);
            await client.GetAsync("http://origin/a");
        }

        // To an object store a 403 is AccessDenied, whatever headers (a proxy's, a hostile origin's) come with it.
        using (var store = Client(meter, HttpStatusCode.Forbidden, "3600", ("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", Reset(60))))
        {
            await store.GetAsync("http://origin/a");
        }

        Assert.Null(meter.Take());
        Assert.Equal(7, meter.Count("get"));
    }

    [Theory]
    [InlineData(403, "x-ratelimit-remaining", "x-ratelimit-reset", 42, null, 42.0)] // GitHub's primary limit: wait until the reset
    [InlineData(429, "x-ratelimit-remaining", "x-ratelimit-reset", 42, null, 42.0)]
    [InlineData(429, "RateLimit-Remaining", "RateLimit-Reset", 42, null, 42.0)] // GitLab's names
    [InlineData(403, "x-ratelimit-remaining", "x-ratelimit-reset", 42, "7", 7.0)] // a Retry-After comes first
    [InlineData(403, "x-ratelimit-remaining", "x-ratelimit-reset", 999999, null, 3600.0)] // capped at an hour
    [InlineData(403, "x-ratelimit-remaining", "x-ratelimit-reset", -5, null, null)] // a reset passed asks no wait
    [InlineData(403, "x-ratelimit-remaining", "x-ratelimit-reset", null, null, null)] // no reset: the backoff alone
    [InlineData(403, null, null, null, "30", 30.0)] // GitHub's secondary limit: a 403 with Retry-After
    public async Task RateLimitAnswers_AreThrottling_AndWaitUntilTheirReset(int status, string? remaining, string? reset, int? resetIn, string? retryAfter, double? expected)
    {
        var headers = new List<(string, string)>();
        if (remaining is not null)
        {
            headers.Add((remaining, "0"));
        }

        if (reset is not null && resetIn is { } seconds)
        {
            headers.Add((reset, Reset(seconds)));
        }

        var meter = new SourceMeter("app", null);
        using var client = GitHubClient(meter, (HttpStatusCode)status, retryAfter, [.. headers]);
        await client.GetAsync("http://origin/a");

        var taken = meter.Take();
        Assert.NotNull(taken);
        Assert.Equal(expected, taken.RetryAfter?.TotalSeconds);
    }

    /// <summary>
    /// 5,000 answers with hostile header values (numbers of any sign and size, dates, junk, several values, whitespace):
    /// the wait is never negative nor over an hour; no wait without the limit used up or a Retry-After; and a 403 from an
    /// object store is never throttling, whatever it carries.
    /// </summary>
    [Fact]
    public void GeneratedRateLimitHeaders_NeverAskMoreThanAnHour_AndAStoresForbiddenIsNeverThrottling()
    {
        var random = new Random(403);
        string[] values = ["0", "1", "-1", "59", "3600", "3601", "99999999999999999999", "1e9", " 42 ", "soon", "", "0x10", "+5", "١٢", "Tue, 01 Dec 2026 13:00:00 GMT", "Mon, 01 Jan 0001 00:00:00 GMT"];
        string[] names = ["x-ratelimit-remaining", "x-ratelimit-reset", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After"];
        for (var round = 0; round < 5000; round++)
        {
            using var response = new HttpResponseMessage((HttpStatusCode)new[] { 403, 429, 503 }[random.Next(3)]);
            var headers = new List<(string Name, string Value)>();
            foreach (var name in names.Where(_ => random.Next(2) == 0))
            {
                var value = random.Next(3) == 0 ? Now.AddSeconds(random.Next(-7200, 7200)).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture) : values[random.Next(values.Length)];
                headers.Add((name, value));
                response.Headers.TryAddWithoutValidation(name, value);
            }

            var wait = MeteredHttpHandler.RetryAfter(response, Now);
            var described = string.Join("; ", headers.Select(h => $"{h.Name}: {h.Value}"));
            Assert.True(wait is null || (wait > TimeSpan.Zero && wait <= MeteredHttpHandler.LongestRetryAfter), $"{described} asked {wait}");
            var exhausted = headers.Any(h => h.Name.EndsWith("remaining", StringComparison.OrdinalIgnoreCase) && h.Value.Trim() == "0");
            if (!exhausted && response.Headers.RetryAfter is null)
            {
                Assert.True(wait is null, $"{described} asked {wait} with no limit used up and no Retry-After");
            }

            if (response.StatusCode == HttpStatusCode.Forbidden)
            {
                Assert.False(MeteredHttpHandler.IsThrottling(response, rateLimited403: false), described);
            }
        }
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("-1")]
    [InlineData("99999999999999999999")]
    [InlineData("1e9")]
    public async Task AResetThatIsNotUnixSeconds_AsksNoWait(string reset)
    {
        var meter = new SourceMeter("app", null);
        using var client = GitHubClient(meter, HttpStatusCode.Forbidden, null, ("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", reset));
        await client.GetAsync("http://origin/a");

        Assert.Null(meter.Take()!.RetryAfter);
    }

    [Fact]
    public void AfterThrottling_WaitsTheRetryAfterPlusTheBackoff_OrTheBackoffAlone()
    {
        Assert.Equal(TimeSpan.FromSeconds(10.5), Backoff.AfterThrottling(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(10)));
        Assert.Equal(TimeSpan.FromSeconds(0.5), Backoff.AfterThrottling(TimeSpan.FromSeconds(0.5), null));
    }

    private static string Reset(int secondsFromNow) => Now.AddSeconds(secondsFromNow).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A client of an object store: a 403 is always a refusal.</summary>
    private static HttpClient Client(SourceMeter meter, HttpStatusCode status, string? retryAfter, params (string Name, string Value)[] headers) =>
        Make(meter, status, retryAfter, rateLimited403: false, headers);

    /// <summary>A client of GitHub's API, which answers a rate limit with 403.</summary>
    private static HttpClient GitHubClient(SourceMeter meter, HttpStatusCode status, string? retryAfter, params (string Name, string Value)[] headers) =>
        Make(meter, status, retryAfter, rateLimited403: true, headers);

    private static HttpClient Make(SourceMeter meter, HttpStatusCode status, string? retryAfter, bool rateLimited403, (string Name, string Value)[] headers)
    {
        var time = new FakeTimeProvider(Now);
        return new HttpClient(new MeteredHttpHandler(meter, r => MeteredHttpHandler.ObjectStoreOperation(r, q => q.Contains("list-type=", StringComparison.Ordinal)), time)
        {
            InnerHandler = new Answer(status, retryAfter, headers),
            RateLimitsAnswer403 = rateLimited403,
        });
    }

    private sealed class Answer(HttpStatusCode status, string? retryAfter, (string Name, string Value)[] headers) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = new HttpResponseMessage(status) { RequestMessage = request };
            if (retryAfter is not null)
            {
                response.Headers.TryAddWithoutValidation("Retry-After", retryAfter);
            }

            foreach (var (name, value) in headers)
            {
                response.Headers.TryAddWithoutValidation(name, value);
            }

            return Task.FromResult(response);
        }
    }
}
