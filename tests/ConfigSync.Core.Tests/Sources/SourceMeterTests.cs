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
        foreach (var status in new[] { HttpStatusCode.InternalServerError, HttpStatusCode.Forbidden, HttpStatusCode.NotModified, HttpStatusCode.BadGateway })
        {
            using var client = Client(meter, status, "5");
            await client.GetAsync("http://origin/a");
        }

        Assert.Null(meter.Take());
        Assert.Equal(4, meter.Count("get"));
    }

    [Fact]
    public void AfterThrottling_WaitsTheRetryAfterPlusTheBackoff_OrTheBackoffAlone()
    {
        Assert.Equal(TimeSpan.FromSeconds(10.5), Backoff.AfterThrottling(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(10)));
        Assert.Equal(TimeSpan.FromSeconds(0.5), Backoff.AfterThrottling(TimeSpan.FromSeconds(0.5), null));
    }

    private static HttpClient Client(SourceMeter meter, HttpStatusCode status, string? retryAfter)
    {
        var time = new FakeTimeProvider(Now);
        return new HttpClient(new MeteredHttpHandler(meter, r => MeteredHttpHandler.ObjectStoreOperation(r, q => q.Contains("list-type=", StringComparison.Ordinal)), time)
        {
            InnerHandler = new Answer(status, retryAfter),
        });
    }

    private sealed class Answer(HttpStatusCode status, string? retryAfter) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = new HttpResponseMessage(status) { RequestMessage = request };
            if (retryAfter is not null)
            {
                response.Headers.TryAddWithoutValidation("Retry-After", retryAfter);
            }

            return Task.FromResult(response);
        }
    }
}
