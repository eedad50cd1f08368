using System.Net;
using System.Net.Sockets;
using ConfigSync.Configuration;
using ConfigSync.Signaling;
using ConfigSync.Sources.Dir;
using ConfigSync.Tests.TestSupport;
using Microsoft.Extensions.Configuration;

namespace ConfigSync.Tests.Signaling;

/// <summary>
/// The verifier against a real listener standing in for the app; the settings are read by the loader from
/// <c>signal.verify</c> keys, as the daemon reads them. Time between polls runs on a stepped clock.
/// </summary>
public sealed class ReloadVerifierTests : IDisposable
{
    private const string Revision = "0123456789abcdef0123456789abcdef01234567";

    /// <summary>
    /// One request, then the verdict: the next poll would come after the deadline. The request's own time limit is the
    /// time left (on the real clock, not the verifier's TimeProvider), so it is kept long enough for a loaded machine.
    /// </summary>
    private static readonly (string Key, string Value)[] OnePoll = [("interval", "10s"), ("timeout", "5s")];

    private readonly AppListener _app = new();
    private readonly HttpClient _http = new();
    private readonly SteppedClock _clock = new();

    public void Dispose()
    {
        _app.Dispose();
        _http.Dispose();
    }

    [Fact]
    public async Task Verify_FieldEqualsTheRevision_SucceedsOnTheFirstAnswer_AtTheUrlWithTheRevision()
    {
        _app.BodyFor = _ => $$$"""{"config":{"revision":"{{{Revision}}}"}}""";
        var verifier = Create($"http://127.0.0.1:{_app.Port}/applied/{{revision}}", ("field", "config.revision"));

        Assert.Null(await verifier.VerifyAsync(Revision, CancellationToken.None));

        var request = Assert.Single(_app.Requests);
        Assert.Equal("GET", request.Method);
        Assert.Equal($"/applied/{Revision}", request.Path);
    }

    [Fact]
    public async Task Verify_FieldHoldsAShortShaOfSevenOrMore_Succeeds_AndSixIsTooShort()
    {
        var answer = Revision[..7];
        _app.BodyFor = _ => $$"""{"revision":"{{answer}}"}""";
        var verifier = Create($"http://127.0.0.1:{_app.Port}/version", [("field", "revision"), .. OnePoll]);

        Assert.Null(await verifier.VerifyAsync(Revision, CancellationToken.None));

        answer = Revision[..6];
        Assert.EndsWith($"field revision is '{Revision[..6]}'", await verifier.VerifyAsync(Revision, CancellationToken.None));
    }

    [Fact]
    public async Task Verify_NumberField_IsComparedAsText()
    {
        _app.BodyFor = _ => """{"generation":42}""";
        var verifier = Create($"http://127.0.0.1:{_app.Port}/version", [("field", "generation"), .. OnePoll]);

        Assert.Null(await verifier.VerifyAsync("42", CancellationToken.None));
        Assert.EndsWith("field generation is '42'", await verifier.VerifyAsync("43", CancellationToken.None));
    }

    [Fact]
    public async Task Verify_AppStaysOnTheOldRevision_PollsEveryIntervalUntilTheTimeout_AndNamesTheLastAnswer()
    {
        _app.BodyFor = _ => """{"revision":"old"}""";
        // Polls at 0, 5 and 10 s; the next one would be past the 12 s deadline. (The last request may take the 2 s left.)
        var verifier = Create($"http://127.0.0.1:{_app.Port}/version", ("field", "revision"), ("interval", "5s"), ("timeout", "12s"));
        var start = _clock.GetUtcNow();

        var verifying = verifier.VerifyAsync(Revision, CancellationToken.None);
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(TimeSpan.FromSeconds(5), await _clock.AdvanceWhenWaitingAsync(d => d == TimeSpan.FromSeconds(5)));
        }

        var problem = await verifying;

        Assert.Equal($"http://127.0.0.1:{_app.Port}/version did not report revision {Revision} within 12s: field revision is 'old'", problem);
        Assert.Equal(3, _app.Requests.Count);
        Assert.Equal(TimeSpan.FromSeconds(10), _clock.GetUtcNow() - start);
    }

    [Fact]
    public async Task Verify_AppAnswersAnErrorFirst_AsksAgainAfterOneInterval()
    {
        _app.AnswerNext(503);
        _app.BodyFor = _ => $$"""{"revision":"{{Revision}}"}""";
        var verifier = Create($"http://127.0.0.1:{_app.Port}/version", ("field", "revision"), ("interval", "2s"));
        var start = _clock.GetUtcNow();

        var verifying = verifier.VerifyAsync(Revision, CancellationToken.None);
        await _clock.AdvanceWhenWaitingAsync(d => d == TimeSpan.FromSeconds(2));

        Assert.Null(await verifying);
        Assert.Equal([503, 200], _app.Requests.Select(r => r.Status));
        Assert.Equal(TimeSpan.FromSeconds(2), _clock.GetUtcNow() - start);
    }

    [Fact]
    public async Task Verify_ErrorUntilTheTimeout_NamesTheStatus()
    {
        _app.DefaultStatus = 500;
        var verifier = Create($"http://127.0.0.1:{_app.Port}/version", OnePoll);

        Assert.EndsWith("within 5s: answered 500", await verifier.VerifyAsync(Revision, CancellationToken.None));
        Assert.Single(_app.Requests);
    }

    [Fact]
    public async Task Verify_Header_IsComparedInsteadOfTheBody()
    {
        var verifier = Create($"http://127.0.0.1:{_app.Port}/version", [("header", "X-Config-Revision"), .. OnePoll]);
        _app.BodyFor = _ => $$"""{"revision":"{{Revision}}"}""";

        Assert.EndsWith("header X-Config-Revision is missing", await verifier.VerifyAsync(Revision, CancellationToken.None));

        _app.HeadersFor = _ => new Dictionary<string, string> { ["X-Config-Revision"] = "old" };
        Assert.EndsWith("header X-Config-Revision is 'old'", await verifier.VerifyAsync(Revision, CancellationToken.None));

        _app.HeadersFor = _ => new Dictionary<string, string> { ["X-Config-Revision"] = Revision };
        Assert.Null(await verifier.VerifyAsync(Revision, CancellationToken.None));
    }

    [Fact]
    public async Task Verify_NeitherFieldNorHeader_AnyTwoHundredAnswerIsEnough()
    {
        var verifier = Create($"http://127.0.0.1:{_app.Port}/healthz", OnePoll);
        _app.DefaultStatus = 204;

        Assert.Null(await verifier.VerifyAsync(Revision, CancellationToken.None));
        Assert.Equal("/healthz", Assert.Single(_app.Requests).Path);
    }

    [Fact]
    public async Task Verify_FieldSetButTheAnswerIsNotJson_IsNamed()
    {
        _app.BodyFor = _ => "<html>ok</html>";
        var verifier = Create($"http://127.0.0.1:{_app.Port}/version", [("field", "revision"), .. OnePoll]);

        Assert.EndsWith(": the answer is not JSON", await verifier.VerifyAsync(Revision, CancellationToken.None));
    }

    [Fact]
    public async Task Verify_FieldMissingOrAnObject_IsNamedMissing()
    {
        _app.BodyFor = _ => """{"config":{"revision":{"sha":"x"}}}""";
        var verifier = Create($"http://127.0.0.1:{_app.Port}/version", [("field", "config.revision"), .. OnePoll]);

        Assert.EndsWith("field config.revision is missing", await verifier.VerifyAsync(Revision, CancellationToken.None));
    }

    [Fact]
    public async Task Verify_NothingListens_NamesTheConnectionError()
    {
        var port = AppListener.FreePort();
        var verifier = Create($"http://127.0.0.1:{port}/version", OnePoll);

        var problem = await verifier.VerifyAsync(Revision, CancellationToken.None);

        Assert.StartsWith($"http://127.0.0.1:{port}/version did not report revision {Revision} within 5s: ", problem);
        Assert.True(problem!.Contains("refused", StringComparison.OrdinalIgnoreCase), problem);
    }

    [Fact]
    public async Task Verify_AppNeverAnswers_TheRequestTimesOutAtTheDeadline()
    {
        // Accepts connections (the kernel does, into the backlog) and never answers.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var verifier = Create($"http://127.0.0.1:{port}/version", ("timeout", "200ms"));

        Assert.EndsWith("within 200ms: the request timed out", await verifier.VerifyAsync(Revision, CancellationToken.None));
    }

    [Fact]
    public async Task Verify_Cancelled_Throws_InsteadOfReportingAFailure()
    {
        var verifier = Create($"http://127.0.0.1:{_app.Port}/version", ("field", "revision"));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => verifier.VerifyAsync(Revision, cancelled.Token));
    }

    private ReloadVerifier Create(string url, params (string Key, string Value)[] verify)
    {
        var values = new Dictionary<string, string?>
        {
            ["syncs:0:name"] = "test", ["syncs:0:source:type"] = "dir", ["syncs:0:source:path"] = "cfg", ["syncs:0:target:root"] = "out",
            ["syncs:0:signal:url"] = _app.Url.ToString(), ["syncs:0:signal:verify:url"] = url,
        };
        foreach (var (key, value) in verify)
        {
            values["syncs:0:signal:verify:" + key] = value;
        }

        var settings = SettingsLoader.Load(new ConfigurationBuilder().AddInMemoryCollection(values).Build(), [new DirectorySourceFactory()], "/base", out var errors);
        Assert.Empty(errors);
        return new ReloadVerifier(_http, settings!.Syncs[0].Signal.Verify!, _clock);
    }
}
