using ConfigSync.Dev;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace ConfigSync.Tests.Dev;

public sealed class RecentLogTests
{
    [Fact]
    public void Log_StampsEachLineWithTheInjectedClocksLocalTime_AndShortLevel()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 9, 15, 42, TimeSpan.Zero));
        clock.SetLocalTimeZone(TimeZoneInfo.CreateCustomTimeZone("UTC+2", TimeSpan.FromHours(2), "UTC+2", "UTC+2"));
        using var log = new RecentLog(clock);
        var logger = log.CreateLogger("test");

        logger.LogWarning("slow source");
        clock.Advance(TimeSpan.FromSeconds(3));
        logger.LogError("failed");

        Assert.Equal(["11:15:42 warn: slow source", "11:15:45 fail: failed"], log.Lines);
    }

    [Fact]
    public void Log_KeepsTheLastEightLines()
    {
        using var log = new RecentLog(new FakeTimeProvider());
        var logger = log.CreateLogger("test");

        for (var i = 0; i < 20; i++)
        {
            logger.LogInformation("line {Number}", i);
        }

        Assert.Equal(Enumerable.Range(12, 8).Select(i => $"line {i}"), log.Lines.Select(l => l[(l.IndexOf("info: ", StringComparison.Ordinal) + 6)..]));
    }
}
