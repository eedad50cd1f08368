using System.Globalization;
using System.Text;
using ConfigSync.IntegrationTests.Support;
using ConfigSync.Sources.S3.Tests.TestSupport;

namespace ConfigSync.IntegrationTests;

/// <summary>
/// A fleet: 50 daemons (the published executable) started together against one S3 origin (s3rver behind a proxy that
/// timestamps every request it forwards, or answers 503 while the test plays an outage). How evenly the polls fall
/// is measured as the index of dispersion (variance over mean) of poll starts counted in bins of interval/20: about 1
/// for polls spread at random, far above 1 when the fleet polls in step. Each daemon reads its own prefix, so its
/// requests are told apart and the S3 client's own quick retries of one poll count as that one poll.
/// </summary>
[Collection(TimingCollection.Name)]
public sealed class FleetTests : IAsyncLifetime
{
    private const int Daemons = 50;
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Bin = Interval / 20;
    private readonly Scenario _scenario = new();
    private readonly List<Daemon> _fleet = [];

    public Task InitializeAsync()
    {
        // The proxy runs in this process beside 50 pipes of daemon output: enough threads that it answers every request
        // when it arrives (a starved pool queues them and releases them together, which is not the fleet's doing).
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 200), Math.Max(io, 200));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var daemon in _fleet)
        {
            await daemon.DisposeAsync();
        }

        _scenario.Dispose();
    }

    [Fact]
    public async Task AFleetStartedTogether_SpreadsItsPollsOverTheInterval_AndItsRetriesThroughAnOutage()
    {
        await using var s3 = await S3rver.StartAsync(_scenario.Temp.Combine("s3"));
        for (var i = 0; i < Daemons; i++)
        {
            await s3.PutAsync($"d{i:00}/app.yaml", $"pod: {i}\n");
        }

        await using var proxy = await CountingProxy.StartAsync(s3.Endpoint);
        var keyId = _scenario.Temp.Write("secret/key-id", S3rver.KeyId);
        var secret = _scenario.Temp.Write("secret/secret", S3rver.Secret);
        for (var i = 0; i < Daemons; i++)
        {
            var config = _scenario.Temp.Write($"fleet/{i:00}.yaml", string.Create(CultureInfo.InvariantCulture, $"""
                http:
                  listen: "off"
                syncs:
                  - name: app
                    source:
                      type: s3
                      bucket: {s3.Bucket}
                      prefix: d{i:00}
                      region: us-east-1
                      endpoint: {proxy.Url}
                      auth:
                        accessKeyIdFile: {keyId}
                        secretAccessKeyFile: {secret}
                    target:
                      root: {_scenario.Temp.Combine($"fleet/volume-{i:00}")}
                    interval: {Interval.TotalSeconds}s
                """));
            _fleet.Add(Daemon.Start(["run", "--config", config]));
        }

        await DaemonHttp.Eventually(
            () => Task.FromResult(Enumerable.Range(0, Daemons).All(i => File.Exists(_scenario.Temp.Combine($"fleet/volume-{i:00}/current/app.yaml")))),
            TimeSpan.FromSeconds(120),
            () => string.Join("\n", _fleet.Where(d => d.HasExited).Select(d => d.Output)));

        // Steady state: from one interval after the last first sync, eight intervals (160 bins).
        await Task.Delay(Interval);
        var steady = await WindowAsync(proxy, Interval * 8);

        // An outage of ten intervals: the retries, from the third failure on (the backoff's ceiling is then the interval).
        proxy.Down = true;
        await Task.Delay(Interval * 2);
        var outage = await WindowAsync(proxy, Interval * 8);
        proxy.Down = false;

        // The origin is back: the fleet's polls stay spread (they do not lock into the moment it came back).
        var back = await WindowAsync(proxy, Interval * 8);

        var report = new StringBuilder();
        foreach (var (name, window) in new[] { ("steady", steady), ("outage", outage), ("back", back) })
        {
            var starts = PollStarts(proxy, window);
            var dispersion = Dispersion(starts, window);
            report.AppendLine(CultureInfo.InvariantCulture, $"{name}: {starts.Count} polls in {window.To - window.From:g}, index of dispersion {dispersion:F2}, busiest bin {Busiest(starts, window)} (mean {starts.Count / Bins(window):F1})");
            report.AppendLine("  per bin: " + string.Join(' ', Counts(starts, window)));
        }

        var text = report.ToString();
        Directory.CreateDirectory(Path.Combine(Daemon.RepoRoot, "artifacts", "test-results"));
        await File.WriteAllTextAsync(Path.Combine(Daemon.RepoRoot, "artifacts", "test-results", "fleet.txt"), text);
        foreach (var window in new[] { steady, outage, back })
        {
            var starts = PollStarts(proxy, window);
            Assert.True(starts.Count >= Daemons * 3, text); // every daemon kept polling (or retrying)
            Assert.True(Dispersion(starts, window) < 1.5, text);
        }

        // The statistic itself: a fleet polling in step (every pod at the same phase, ±10%) scores far above 1.5.
        var inStep = Enumerable.Range(0, Daemons * 8).Select(n => steady.From + (Interval * (n / Daemons)) + (Interval * 0.1 * Random.Shared.NextDouble())).ToList();
        Assert.True(Dispersion(inStep, steady) > 5, $"in step: {Dispersion(inStep, steady):F2}");
        Assert.All(_fleet, d => Assert.False(d.HasExited, d.Output));
    }

    private static async Task<(TimeSpan From, TimeSpan To)> WindowAsync(CountingProxy proxy, TimeSpan length)
    {
        var from = proxy.Clock.Elapsed;
        await Task.Delay(length);
        return (from, proxy.Clock.Elapsed);
    }

    /// <summary>
    /// The start of each poll in the window: a daemon's request that comes at least 400 ms after its previous one (the S3
    /// client retries a 503 within a few hundred milliseconds itself; those retries belong to the same poll).
    /// </summary>
    private static List<TimeSpan> PollStarts(CountingProxy proxy, (TimeSpan From, TimeSpan To) window)
    {
        var last = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
        var starts = new List<TimeSpan>();
        foreach (var (_, pathAndQuery, arrival) in proxy.Log())
        {
            var daemon = System.Text.RegularExpressions.Regex.Match(pathAndQuery, @"d\d\d").Value;
            var isStart = !last.TryGetValue(daemon, out var previous) || arrival - previous >= TimeSpan.FromMilliseconds(400);
            last[daemon] = arrival;
            if (isStart && arrival >= window.From && arrival < window.To)
            {
                starts.Add(arrival);
            }
        }

        return starts;
    }

    private static double Bins((TimeSpan From, TimeSpan To) window) => Math.Floor((window.To - window.From) / Bin);

    private static int[] Counts(List<TimeSpan> times, (TimeSpan From, TimeSpan To) window)
    {
        var counts = new int[(int)Bins(window)];
        foreach (var time in times)
        {
            var bin = (int)((time - window.From) / Bin);
            if (bin >= 0 && bin < counts.Length)
            {
                counts[bin]++;
            }
        }

        return counts;
    }

    /// <summary>The index of dispersion of the counts per bin: variance over mean.</summary>
    private static double Dispersion(List<TimeSpan> times, (TimeSpan From, TimeSpan To) window)
    {
        var counts = Counts(times, window);
        var mean = counts.Average();
        return counts.Sum(c => (c - mean) * (c - mean)) / (counts.Length - 1) / mean;
    }

    private static int Busiest(List<TimeSpan> times, (TimeSpan From, TimeSpan To) window) => Counts(times, window).Max();
}
