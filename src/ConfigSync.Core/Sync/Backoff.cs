namespace ConfigSync.Sync;

/// <summary>Delays between polls: the interval with jitter, and after failures an exponential backoff capped at the interval.</summary>
internal static class Backoff
{
    /// <summary>The first delay after a failure.</summary>
    public static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(1);

    /// <summary>The interval spread by ±<paramref name="jitter"/>.</summary>
    public static TimeSpan Jittered(TimeSpan interval, double jitter, double random) =>
        interval * (1 + (jitter * ((2 * random) - 1)));

    /// <summary>The delay after <paramref name="failures"/> failures in a row: 1s, 2s, 4s… up to the interval, ±20%.</summary>
    public static TimeSpan AfterFailures(int failures, TimeSpan interval, double random)
    {
        var exponent = Math.Min(Math.Max(failures - 1, 0), 30);
        var delay = TimeSpan.FromTicks(Math.Min(FirstRetry.Ticks * (1L << exponent), interval.Ticks));
        return delay * (0.8 + (0.4 * random));
    }
}
