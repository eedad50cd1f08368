namespace ConfigSync.Sources;

/// <summary>
/// One revision of a source: its id, its entries and a way to stream each entry's bytes.
/// The publisher reads only the entries it cannot reuse from the live tree.
/// </summary>
public abstract class SourceSnapshot : IAsyncDisposable
{
    /// <summary>Creates a snapshot.</summary>
    protected SourceSnapshot(string revision, IReadOnlyList<SourceEntry> entries)
    {
        Revision = revision;
        Entries = entries;
    }

    /// <summary>The revision id: a commit SHA, or a hash of the sorted (path, version) list.</summary>
    public string Revision { get; }

    /// <summary>Every file and link of this revision.</summary>
    public IReadOnlyList<SourceEntry> Entries { get; }

    /// <summary>Facts shown in <c>/status</c> and the manifest (for example a commit's subject and author time).</summary>
    public IReadOnlyDictionary<string, string> Details { get; init; } = new Dictionary<string, string>();

    /// <summary>How many entries may be streamed at once. <value>The default value is 1.</value></summary>
    public int MaxParallelism { get; init; } = 1;

    /// <summary>Whether this revision can never change (a pinned commit): the loop stops polling once it is live.</summary>
    public bool IsFinal { get; init; }

    /// <summary>Writes the bytes of <paramref name="entry"/> to <paramref name="destination"/>.</summary>
    public abstract Task WriteContentAsync(SourceEntry entry, Stream destination, CancellationToken cancellationToken);

    /// <summary>
    /// Called once every entry was written and before anything is published: a source whose state can
    /// move during the copy (a local folder) checks that it is still the revision it listed, and throws
    /// <see cref="SourceException"/> when it is not, so a mix of two states is never published.
    /// </summary>
    public virtual Task ConfirmAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}
