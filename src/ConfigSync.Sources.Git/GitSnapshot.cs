using LibGit2Sharp;

namespace ConfigSync.Sources.Git;

/// <summary>One commit's tree (or subtree): entries versioned by blob id, content streamed from the object database.</summary>
internal sealed class GitSnapshot(string revision, IReadOnlyList<SourceEntry> entries, IReadOnlyDictionary<string, Repository> owners, Func<Repository, ObjectId, Stream> open)
    : SourceSnapshot(revision, entries)
{
    public override async Task WriteContentAsync(SourceEntry entry, Stream destination, CancellationToken cancellationToken)
    {
        // libgit2 objects are not thread-safe: MaxParallelism stays 1 and each blob is read on this call.
        await using var content = open(owners[entry.Path], new ObjectId(entry.Version));
        await content.CopyToAsync(destination, 81920, cancellationToken);
    }
}
