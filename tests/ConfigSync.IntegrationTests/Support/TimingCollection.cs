namespace ConfigSync.IntegrationTests.Support;

/// <summary>
/// The tests that measure time (backoff, spreads, staleness) or load the machine while others would (the torn-read
/// run, a fleet of 50 daemons): one at a time, and with no other test class running (two cores).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingCollection
{
    public const string Name = "timing-sensitive daemon tests";
}
