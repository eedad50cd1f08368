using System.Collections.Concurrent;

namespace ConfigSync.Sources.Git;

/// <summary>
/// One commit's tree (or subtree): entries versioned by blob id, content read from the object database.
/// A libgit2 repository handle is not thread-safe, but separate handles on one object database are:
/// blobs are read by up to <see cref="Readers"/> workers at once, each through a <see cref="BlobReader"/>
/// of its own, opened on first use and closed with the snapshot (the source's own handle is never shared with them).
/// </summary>
internal sealed class GitSnapshot : SourceSnapshot
{
    /// <summary>Parallel blob readers: inflating and hashing is CPU work, so a few per core, capped.</summary>
    public static readonly int Readers = Math.Clamp(Environment.ProcessorCount * 2, 2, 8);

    private readonly IReadOnlyDictionary<string, string> _owners;
    private readonly ConcurrentDictionary<string, ConcurrentBag<BlobReader>> _idle = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<BlobReader> _opened = [];

    /// <param name="revision">The commit id.</param>
    /// <param name="entries">The files and links of the tree.</param>
    /// <param name="owners">For each entry, the git folder of the repository that holds its blob (a submodule's, or the source's).</param>
    public GitSnapshot(string revision, IReadOnlyList<SourceEntry> entries, IReadOnlyDictionary<string, string> owners)
        : base(revision, entries)
    {
        _owners = owners;
        MaxParallelism = Readers;
    }

    public override Task WriteContentAsync(SourceEntry entry, Stream destination, CancellationToken cancellationToken)
    {
        var gitFolder = _owners[entry.Path];
        var pool = _idle.GetOrAdd(gitFolder, _ => []);
        if (!pool.TryTake(out var reader))
        {
            reader = new BlobReader(gitFolder);
            _opened.Add(reader);
        }

        try
        {
            // The destination is a local file: written as the blob is read, no await needed.
            reader.CopyTo(entry.Version, destination, cancellationToken);
        }
        finally
        {
            pool.Add(reader);
        }

        return Task.CompletedTask;
    }

    public override ValueTask DisposeAsync()
    {
        foreach (var reader in _opened)
        {
            reader.Dispose();
        }

        return base.DisposeAsync();
    }
}
