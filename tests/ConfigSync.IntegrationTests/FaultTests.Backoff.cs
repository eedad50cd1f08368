using System.Globalization;
using System.Net;
using System.Text.Json;
using ConfigSync.IntegrationTests.Support;

namespace ConfigSync.IntegrationTests;

/// <summary>The failure backoff, measured on the daemon's own clock (see <see cref="FaultTests"/>).</summary>
public sealed partial class FaultTests
{
    [Fact]
    public async Task FailingSource_IsRetriedWithFullJitter_UnderACeilingThatGrows_ThenCapsAtTheInterval()
    {
        // A folder that is not there fails at once, so the gaps between attempts are the backoff alone: full jitter,
        // anywhere from 0.1 s up to a ceiling of 1 s, 2 s, 4 s, 8 s, then the interval (8 s).
        var config = _scenario.WriteConfig(interval: "8s");
        await using var daemon = Daemon.Start(["run", "--config", config]);
        using var http = new DaemonHttp(_scenario.Port);
        await http.WaitUntilUpAsync(daemon, Patience);

        // When the k-th failure in a row happened, by the daemon's clock: the start of the attempt that
        // made it (a missing folder fails at once), from the same status snapshot as the count. Timed
        // here instead, one slow answer to this poll shifted a gap by 0.4 s on a loaded machine.
        // The wait the daemon chose after the k-th failure is nextAttempt - lastAttempt in one snapshot (taken between
        // attempts), so a count this poll misses loses only its own sample. A snapshot taken before the new nextAttempt
        // is recorded still shows the previous one, about lastAttempt itself: never 0.09 s past it (the least wait is 0.1 s).
        var seen = new SortedDictionary<int, DateTimeOffset>();
        var chosen = new SortedDictionary<int, double>();
        var first = (await StatusOfSyncAsync(http)).GetProperty("consecutiveFailures").GetInt32();
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (!seen.ContainsKey(8))
        {
            var status = await StatusOfSyncAsync(http);
            var count = status.GetProperty("consecutiveFailures").GetInt32();
            var attempt = status.GetProperty("lastAttempt").GetDateTimeOffset();
            if (count > first && !status.GetProperty("syncing").GetBoolean() && !seen.ContainsKey(count))
            {
                seen[count] = attempt;
            }

            if (count > first && !status.GetProperty("syncing").GetBoolean() && status.GetProperty("nextAttempt") is { ValueKind: JsonValueKind.String } nextAttempt
                && nextAttempt.GetDateTimeOffset() - attempt is var next && next > TimeSpan.FromSeconds(0.09))
            {
                chosen.TryAdd(count, next.TotalSeconds);
            }

            Assert.False(daemon.HasExited, daemon.Output);
            Assert.True(DateTime.UtcNow < deadline, "eight failures in a row did not happen within 2 minutes: " + string.Join(", ", seen.Keys));
            await Task.Delay(20);
        }

        output.WriteLine("wait chosen after failure k (s): " + string.Join(", ", chosen.Select(g => $"{g.Key}: {g.Value.ToString("F2", CultureInfo.InvariantCulture)}")));
        Assert.True(chosen.Count >= 5, $"only {chosen.Count} waits seen");
        foreach (var (k, wait) in chosen)
        {
            var ceiling = Math.Min(Math.Pow(2, k - 1), 8);
            Assert.InRange(wait, 0.09, ceiling + 0.3); // the failed attempt's own time on top
        }

        Assert.Contains(chosen, g => g.Key >= 5); // their ceiling would be 16 s and more: the cap held it at the interval

        // And the attempts came when chosen: the gap between consecutive failures' attempts, where both were seen.
        var gaps = seen.Keys.Where(k => seen.ContainsKey(k + 1)).ToDictionary(k => k, k => (seen[k + 1] - seen[k]).TotalSeconds);
        output.WriteLine("gap after failure k (s): " + string.Join(", ", gaps.Select(g => $"{g.Key}: {g.Value.ToString("F2", CultureInfo.InvariantCulture)}")));
        foreach (var (k, gap) in gaps)
        {
            Assert.InRange(gap, 0.1 - 0.05, Math.Min(Math.Pow(2, k - 1), 8) + 0.5);
        }
        Assert.Equal(HttpStatusCode.OK, await http.StatusOfAsync("/healthz"));
    }
}
