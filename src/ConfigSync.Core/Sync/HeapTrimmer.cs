namespace ConfigSync.Sync;

/// <summary>
/// Gives the .NET heap back to the system after a sync attempt, for the whole process (see <see cref="AfterAttemptAsync"/>).
/// One per daemon: the service owns it and every sync loop reports its attempts to it.
/// </summary>
internal sealed class HeapTrimmer
{
    /// <summary>Bytes allocated since the last collection that make an attempt end with one.</summary>
    internal const long CollectAfterBytes = 1024 * 1024;

    private long _allocatedAtCollection;
    private int _published;

    /// <summary>
    /// A publish streams the tree through the GC's youngest generation, and a poll of a large bucket
    /// parses a listing of thousands of objects (megabytes, much of it in buffers large enough for the
    /// large-object heap, which only a full collection frees): an idle sidecar should not keep that
    /// memory until the GC's budgets next run out. After a publish, or an attempt that allocated more
    /// than <see cref="CollectAfterBytes"/> (counted over the whole process, so ten syncs of small
    /// buckets add up), one compacting collection of the small heap that remains gives it back to the
    /// system (docs/benchmarks.md). Below the threshold, what a poll allocated stays in touched pages
    /// of the youngest generation until its budget runs out: with 2 MiB, most polls of 2,000 S3 keys
    /// ended without a collection and the daemon moved between 40 and 43 MiB; with 1 MiB it stays at
    /// 40. Done by the loop, not the attempt: a one-shot run (once, an init container) exits instead.
    /// </summary>
    public async Task AfterAttemptAsync(AttemptOutcome outcome)
    {
        if (outcome is AttemptOutcome.Changed)
        {
            Volatile.Write(ref _published, 1);
        }

        if (Volatile.Read(ref _published) == 0 && GC.GetTotalAllocatedBytes() - Interlocked.Read(ref _allocatedAtCollection) < CollectAfterBytes)
        {
            return;
        }

        // The loop resumes on the stack that completed the attempt, and those frames still hold what it
        // read: collected there, a poll of 2,000 blobs stayed alive until the next poll (12 MiB of heap
        // instead of 2, docs/benchmarks.md). After a yield they have returned.
        await Task.Yield();
        Volatile.Write(ref _published, 0);
        Interlocked.Exchange(ref _allocatedAtCollection, GC.GetTotalAllocatedBytes());
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }
}
