using ConfigSync.Publishing;

namespace ConfigSync.Sync;

/// <summary>What one sync attempt came to: a new tree published, nothing new, or a failure.</summary>
/// <param name="Started">When the attempt started.</param>
/// <param name="Ended">When it ended.</param>
internal abstract record AttemptOutcome(DateTimeOffset Started, DateTimeOffset Ended)
{
    /// <summary>Whether the attempt succeeded (published, or found nothing new).</summary>
    public bool Succeeded => this is not Failed;

    /// <summary>The <c>result</c> label of <c>configsync_sync_total</c>.</summary>
    public abstract string Result { get; }

    /// <summary>A new tree is live.</summary>
    /// <param name="Started">When the attempt started.</param>
    /// <param name="Ended">When it ended.</param>
    /// <param name="Manifest">The published tree.</param>
    /// <param name="Change">What changed against the tree before it.</param>
    public sealed record Changed(DateTimeOffset Started, DateTimeOffset Ended, Manifest Manifest, TreeChange Change)
        : AttemptOutcome(Started, Ended)
    {
        /// <inheritdoc />
        public override string Result => "changed";
    }

    /// <summary>The source had nothing new (or the new revision's tree equals the live one).</summary>
    /// <param name="Started">When the attempt started.</param>
    /// <param name="Ended">When it ended.</param>
    public sealed record Unchanged(DateTimeOffset Started, DateTimeOffset Ended) : AttemptOutcome(Started, Ended)
    {
        /// <inheritdoc />
        public override string Result => "unchanged";
    }

    /// <summary>The attempt failed; the live tree is untouched.</summary>
    /// <param name="Started">When the attempt started.</param>
    /// <param name="Ended">When it ended.</param>
    /// <param name="Error">Why, naming the setting or object (no secret).</param>
    /// <param name="Rejected">The revision a check refused, when that was the failure.</param>
    public sealed record Failed(DateTimeOffset Started, DateTimeOffset Ended, string Error, RejectedRevision? Rejected) : AttemptOutcome(Started, Ended)
    {
        /// <inheritdoc />
        public override string Result => "error";
    }
}
