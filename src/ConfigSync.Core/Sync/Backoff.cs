namespace ConfigSync.Sync;

/// <summary>
/// Delays between polls, chosen so that a fleet of daemons started together does not poll, or retry, in step: the first
/// poll after the first sync at a uniformly random point of the interval (spreading the phase a rollout gave every pod),
/// then the interval with jitter, and after failures an exponential backoff with full jitter, capped at the interval.
/// </summary>
internal static class Backoff
{
    /// <summary>The ceiling of the first delay after a failure; it doubles with each failure in a row.</summary>
    public static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(1);

    /// <summary>The shortest delay after a failure (full jitter may draw one close to zero).</summary>
    public static readonly TimeSpan ShortestRetry = TimeSpan.FromMilliseconds(100);

    /// <summary>The interval spread by ±<paramref name="jitter"/>.</summary>
    public static TimeSpan Jittered(TimeSpan interval, double jitter, double random) =>
        interval * (1 + (jitter * ((2 * random) - 1)));

    /// <summary>
    /// The delay after the first sync: a uniformly random point of the interval. Pods started together then poll at
    /// phases spread over the whole interval, where ±jitter alone would only wander around the phase they share.
    /// </summary>
    public static TimeSpan Phase(TimeSpan interval, double random) => interval * random;

    /// <summary>
    /// The delay after <paramref name="failures"/> failures in a row: full jitter, uniform between
    /// <see cref="ShortestRetry"/> and a ceiling of 1s, 2s, 4s… up to the interval, so the retries of a fleet that
    /// lost its origin spread over the whole window instead of arriving together when it comes back.
    /// </summary>
    public static TimeSpan AfterFailures(int failures, TimeSpan interval, double random)
    {
        var ceiling = Ceiling(failures, interval);
        var floor = ShortestRetry < ceiling ? ShortestRetry : ceiling;
        return floor + ((ceiling - floor) * random);
    }

    /// <summary>The longest delay after <paramref name="failures"/> failures: 1s, 2s, 4s… up to the interval.</summary>
    public static TimeSpan Ceiling(int failures, TimeSpan interval)
    {
        var exponent = Math.Min(Math.Max(failures - 1, 0), 30);
        return TimeSpan.FromTicks(Math.Min(FirstRetry.Ticks * (1L << exponent), interval.Ticks));
    }

    /// <summary>
    /// The delay after an attempt the origin throttled: the <paramref name="retryAfter"/> it asked for plus the
    /// <paramref name="backoff"/> (itself full jitter), so a fleet told the same wait spreads after it; the backoff alone
    /// when the origin named no wait.
    /// </summary>
    public static TimeSpan AfterThrottling(TimeSpan backoff, TimeSpan? retryAfter) => retryAfter is { } wait ? wait + backoff : backoff;
}
