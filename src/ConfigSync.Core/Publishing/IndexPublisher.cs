using System.Collections.Concurrent;
using System.Security.Cryptography;
using ConfigSync.Sources;

namespace ConfigSync.Publishing;

/// <summary>
/// Writes a source's tree into a bucket or container prefix for a fleet reading it in index mode: the objects whose
/// bytes changed are uploaded (their SHA-256 against the current index), then the index object naming the revision
/// and every object's ETag and SHA-256 is written last; objects the new index no longer names stay for a grace period
/// (readers that fetched the previous index finish their downloads) and are deleted after it. An object under the
/// prefix that no index names (a run stopped before its deletes) is deleted the same way by a later run.
/// </summary>
/// <param name="source">Where the tree comes from (git, dir, or another bucket).</param>
/// <param name="store">The prefix it goes to.</param>
/// <param name="indexKey">The index key, relative to the prefix.</param>
/// <param name="maxFiles">The most files (<c>limits.maxFiles</c>).</param>
/// <param name="maxBytes">The most bytes of the tree (<c>limits.maxBytes</c>).</param>
/// <param name="time">The clock.</param>
public sealed class IndexPublisher(IConfigSource source, IObjectStore store, string indexKey, int maxFiles, long maxBytes, TimeProvider time)
{
    private const int Parallelism = 8;

    /// <summary>Publishes the source's current revision, unless the index already names it; never deletes.</summary>
    /// <exception cref="SourceException">The source, the store, or the tree failed (named); the index is then not written.</exception>
    public async Task<IndexPublishResult> PublishAsync(CancellationToken cancellationToken)
    {
        var current = await CurrentIndexAsync(cancellationToken);
        var stored = await store.ListAsync(cancellationToken);

        // An index whose objects the store no longer holds as indexed (replaced or deleted behind it) is published again.
        var intact = current is not null && current.Objects.All(o => stored.TryGetValue(o.Path, out var etag) && etag == o.ETag);
        await using var snapshot = await source.PollAsync(new PollContext(intact ? current!.Revision : null), cancellationToken);
        if (snapshot is null)
        {
            return new IndexPublishResult(current!.Revision, Changed: false, 0, current.Objects.Count, Unnamed(stored, current));
        }

        var entries = PathRules.Validate(snapshot.Entries, maxFiles, maxBytes);
        if (entries.FirstOrDefault(e => e.IsSymlink) is { } link)
        {
            throw new SourceException($"'{PathRules.Shown(link.Path)}' is a symbolic link: an object store holds files only; nothing is published (replace the link by a copy, or exclude it)");
        }

        if (entries.FirstOrDefault(e => e.Path == indexKey) is { } clash)
        {
            throw new SourceException($"the tree has a file '{PathRules.Shown(clash.Path)}', the index key; nothing is published (set publish.index to another key)");
        }

        var before = current?.Objects.ToDictionary(o => o.Path, StringComparer.Ordinal) ?? [];
        var objects = new ConcurrentBag<IndexedObject>();
        var uploaded = 0;
        long total = 0;
        await Parallel.ForEachAsync(entries, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken }, async (entry, token) =>
        {
            using var buffer = new MemoryStream();
            await snapshot.WriteContentAsync(entry, buffer, token);
            if (Interlocked.Add(ref total, buffer.Length) > maxBytes)
            {
                throw new SourceException($"the tree is larger than limits.maxBytes ({maxBytes} bytes); nothing is published");
            }

            var bytes = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
            var sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes.Span));

            // Unchanged bytes at an object the store still holds as indexed: no upload.
            string etag;
            if (before.TryGetValue(entry.Path, out var old) && old.Sha256 == sha256 && stored.TryGetValue(entry.Path, out var storedETag) && storedETag == old.ETag)
            {
                etag = old.ETag;
            }
            else
            {
                etag = await store.PutAsync(entry.Path, bytes, token);
                Interlocked.Increment(ref uploaded);
            }

            objects.Add(new IndexedObject(entry.Path, etag, bytes.Length, sha256, entry.Executable));
        });
        await snapshot.ConfirmAsync(cancellationToken);

        var index = new SourceIndex(snapshot.Revision, time.GetUtcNow(), source.Describe, [.. objects.OrderBy(o => o.Path, StringComparer.Ordinal)]);
        await store.PutAsync(indexKey, index.ToJson(), cancellationToken);
        return new IndexPublishResult(index.Revision, Changed: true, uploaded, index.Objects.Count, Unnamed(stored, index));
    }

    /// <summary>Deletes the <paramref name="keys"/> the index now live still does not name (it is read again first: a newer publish may name them).</summary>
    public async Task<int> DeleteUnnamedAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        var live = await CurrentIndexAsync(cancellationToken);
        var named = live?.Objects.Select(o => o.Path).ToHashSet(StringComparer.Ordinal) ?? [];
        var deleted = 0;
        foreach (var key in keys.Where(k => k != indexKey && !named.Contains(k)))
        {
            await store.DeleteAsync(key, cancellationToken);
            deleted++;
        }

        return deleted;
    }

    private async Task<SourceIndex?> CurrentIndexAsync(CancellationToken cancellationToken)
    {
        var bytes = await store.ReadAsync(indexKey, cancellationToken);
        if (bytes is null)
        {
            return null;
        }

        try
        {
            return SourceIndex.Parse(bytes, indexKey, int.MaxValue);
        }
        catch (SourceException)
        {
            return null; // unreadable: publish everything afresh and write a good one
        }
    }

    private IReadOnlyList<string> Unnamed(IReadOnlyDictionary<string, string> stored, SourceIndex index)
    {
        var named = index.Objects.Select(o => o.Path).ToHashSet(StringComparer.Ordinal);
        return [.. stored.Keys.Where(k => k != indexKey && !named.Contains(k)).Order(StringComparer.Ordinal)];
    }
}

/// <summary>What one publish did.</summary>
/// <param name="Revision">The revision the index names now.</param>
/// <param name="Changed">Whether a new index was written.</param>
/// <param name="Uploaded">Objects uploaded.</param>
/// <param name="Objects">Objects the index names.</param>
/// <param name="Unnamed">Keys under the prefix the index does not name: deleted after the grace period.</param>
public sealed record IndexPublishResult(string Revision, bool Changed, int Uploaded, int Objects, IReadOnlyList<string> Unnamed);
