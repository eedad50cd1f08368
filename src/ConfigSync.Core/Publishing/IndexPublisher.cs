using System.Collections.Concurrent;
using System.Security.Cryptography;
using ConfigSync.Sources;

namespace ConfigSync.Publishing;

/// <summary>
/// Writes a source's tree into a bucket or container prefix for a fleet reading it in index mode. Bytes go to
/// content-addressed objects in the index's own namespace (<see cref="ObjectKeys"/>), reused when the live index
/// recorded them and the store still holds them so, else created only where there is none (<c>If-None-Match: *</c>;
/// an object found there is reused if its bytes are these); a plain key the live index retired (its deletion may be
/// pending) is never reused: the bytes get a fresh key. Then the index naming the revision and, for every file, its
/// object's key, ETag and SHA-256 is written last, only if the index is still the one read (a conditional write: two
/// publishers never roll each other back unseen). Nothing an index names is overwritten, so readers of the previous
/// index finish and a publish that fails halfway leaves the live index whole. Objects an index of ours named and the
/// new one does not are listed in it as <see cref="SourceIndex.Retired"/> and deleted after the grace period; keys
/// outside the index's object namespace are never retired or deleted.
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

    /// <summary>Publishes the source's current revision, unless the live index already names it whole; never deletes.</summary>
    /// <exception cref="SourceException">The source, the store, or the tree failed, or another publisher wrote the index meanwhile (named); the index is then not written.</exception>
    /// <exception cref="PublishException">The tree breaks the path rules (named); the index is not written.</exception>
    public async Task<IndexPublishResult> PublishAsync(CancellationToken cancellationToken)
    {
        var (current, currentETag) = await CurrentIndexAsync(cancellationToken);
        var stored = await store.ListAsync(cancellationToken);

        // An index whose objects the store no longer holds as recorded, or written from another source (a changed path),
        // is published again even at the same revision.
        var intact = current is not null && current.Source == source.Describe && current.Objects.All(o => stored.TryGetValue(o.Key, out var etag) && etag == o.ETag);
        // (A revision suffixed for a settings change, "<source revision>.<files>", is compared by its source revision.)
        await using var snapshot = await source.PollAsync(new PollContext(intact ? current!.Revision.Split('.')[0] : null), cancellationToken);
        if (snapshot is null)
        {
            return new IndexPublishResult(current!.Revision, Changed: false, 0, current.Objects.Count, Retired(current, current.Objects.Select(o => o.Key).ToHashSet(StringComparer.Ordinal), stored));
        }

        var entries = PathRules.Validate(snapshot.Entries, maxFiles, maxBytes);
        if (entries.FirstOrDefault(e => e.IsSymlink) is { } link)
        {
            throw new SourceException($"'{PathRules.Shown(link.Path)}' is a symbolic link: an object store holds files only; nothing is published (replace the link by a copy, or exclude it)");
        }

        // Objects an index of ours recorded, and the store still holds as recorded: reused without an upload.
        var recorded = (current?.Objects ?? []).Where(o => stored.TryGetValue(o.Key, out var etag) && etag == o.ETag)
            .GroupBy(o => o.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().ETag, StringComparer.Ordinal);
        var pending = (current?.Retired ?? []).ToHashSet(StringComparer.Ordinal);
        var nonce = ObjectKeys.NewNonce();
        var uploads = new ConcurrentDictionary<string, Lazy<Task<string>>>(StringComparer.Ordinal);
        var objects = new ConcurrentBag<IndexedObject>();
        long total = 0;
        await Parallel.ForEachAsync(entries, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken }, async (entry, token) =>
        {
            using var buffer = new MemoryStream();
            await snapshot.WriteContentAsync(entry, new CappedStream(buffer, entry.Path, maxBytes - Interlocked.Read(ref total)), token);
            if (Interlocked.Add(ref total, buffer.Length) > maxBytes)
            {
                throw new SourceException($"the tree is larger than limits.maxBytes ({maxBytes} bytes); nothing is published");
            }

            var bytes = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
            var sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes.Span));
            var key = ObjectKeys.For(indexKey, sha256);
            if (pending.Contains(key))
            {
                key = ObjectKeys.For(indexKey, sha256, nonce); // a deletion of the plain key may be pending
            }

            var etag = recorded.TryGetValue(key, out var known)
                ? known
                : await uploads.GetOrAdd(key, k => new Lazy<Task<string>>(() => UploadAsync(k, bytes.ToArray(), sha256, token))).Value;
            objects.Add(new IndexedObject(entry.Path, key, etag, bytes.Length, sha256, entry.Executable));
        });
        await snapshot.ConfirmAsync(cancellationToken);

        var named = objects.Select(o => o.Key).ToHashSet(StringComparer.Ordinal);
        var sorted = objects.OrderBy(o => o.Path, StringComparer.Ordinal).ToList();
        var index = new SourceIndex(Revision(snapshot.Revision, current, sorted), time.GetUtcNow(), source.Describe, sorted)
        {
            Retired = Retired(current, named, stored),
        };
        if (intact && index.Revision == current!.Revision && SameFiles(current.Objects, sorted))
        {
            // The same tree, whole in the store: nothing to write (a new index would cost every reader a full GET).
            return new IndexPublishResult(current.Revision, Changed: false, uploads.Count, current.Objects.Count, Retired(current, named, stored));
        }

        var json = index.ToJson();
        if (json.Length > SourceIndex.MaxBytes)
        {
            throw new SourceException($"the index would be {json.Length} bytes, more than readers take ({SourceIndex.MaxBytes / (1024 * 1024)} MiB); nothing is published (lower limits.maxFiles, or split the tree)");
        }

        if (!await store.ReplaceAsync(indexKey, json, currentETag, cancellationToken))
        {
            throw new SourceException($"index '{indexKey}' was written by another publisher while this one ran; nothing of this run is live (run one publisher per prefix; the next run publishes on top of the other's)");
        }

        return new IndexPublishResult(index.Revision, Changed: true, uploads.Count, index.Objects.Count, index.Retired);
    }

    /// <summary>
    /// Deletes the retired <paramref name="keys"/> the live index (read again) still lists as retired and does not name;
    /// deletes nothing when the live index cannot be read. Returns how many were deleted.
    /// </summary>
    public async Task<int> DeleteRetiredAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        var (live, _) = await CurrentIndexAsync(cancellationToken);
        if (live is null)
        {
            return 0; // unreadable or gone: nothing is known to be unused
        }

        var named = live.Objects.Select(o => o.Key).ToHashSet(StringComparer.Ordinal);
        var retired = live.Retired.ToHashSet(StringComparer.Ordinal);
        var deleted = 0;
        foreach (var key in keys.Where(k => k != indexKey && retired.Contains(k) && !named.Contains(k)))
        {
            await store.DeleteAsync(key, cancellationToken);
            deleted++;
        }

        return deleted;
    }

    /// <summary>
    /// The live index and its ETag; (null, null) when there is none, (null, ETag) when it is too large or does not parse
    /// (then everything is published afresh, over it). Any other failure to read it (the store throttles or times out)
    /// throws: nothing is published on a guess.
    /// </summary>
    private async Task<(SourceIndex? Index, string? ETag)> CurrentIndexAsync(CancellationToken cancellationToken)
    {
        (byte[] Bytes, string ETag)? read;
        try
        {
            read = await store.ReadAsync(indexKey, SourceIndex.MaxBytes, cancellationToken);
        }
        catch (TooLargeException)
        {
            var stored = await store.ListAsync(cancellationToken);
            return (null, stored.GetValueOrDefault(indexKey));
        }

        if (read is not { } found)
        {
            return (null, null);
        }

        try
        {
            return (SourceIndex.Parse(found.Bytes, indexKey, indexKey, int.MaxValue), found.ETag);
        }
        catch (SourceException)
        {
            return (null, found.ETag);
        }
    }

    /// <summary>
    /// The revision the new index names: the source's, unless the live index names that same revision with other files
    /// (the publisher's settings changed, not the source): readers skip an index whose revision they have live, so the
    /// new tree then gets the source's revision with a suffix from its files.
    /// </summary>
    private static string Revision(string revision, SourceIndex? current, IReadOnlyList<IndexedObject> objects)
    {
        if (current is null || current.Revision.Split('.')[0] != revision)
        {
            return revision;
        }

        if (SameFiles(current.Objects, objects))
        {
            return current.Revision; // the same tree published again (an object was repaired)
        }

        var files = string.Join('\n', objects.Select(o => $"{o.Path}\0{o.Sha256}\0{o.Executable}"));
        var suffix = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(files)))[..8];
        return $"{(revision.Length > 119 ? revision[..119] : revision)}.{suffix}";
    }

    private static bool SameFiles(IReadOnlyList<IndexedObject> a, IReadOnlyList<IndexedObject> b) =>
        a.Count == b.Count && a.OrderBy(o => o.Path, StringComparer.Ordinal).Zip(b).All(p => p.First.Path == p.Second.Path && p.First.Sha256 == p.Second.Sha256 && p.First.Executable == p.Second.Executable);

    /// <summary>Creates the object; one already there is reused if it holds these bytes, else written over (tampered, or another writer's).</summary>
    private async Task<string> UploadAsync(string key, byte[] bytes, string sha256, CancellationToken cancellationToken)
    {
        if (await store.CreateAsync(key, bytes, cancellationToken) is { } created)
        {
            return created;
        }

        try
        {
            if (await store.ReadAsync(key, bytes.Length, cancellationToken) is { } found && Convert.ToHexStringLower(SHA256.HashData(found.Bytes)) == sha256)
            {
                return found.ETag;
            }
        }
        catch (TooLargeException)
        {
            // longer than these bytes: not them
        }

        return await store.PutAsync(key, bytes, cancellationToken);
    }

    /// <summary>Keys an index of ours named (or already retired) that <paramref name="named"/> does not, and that the store still holds.</summary>
    private IReadOnlyList<string> Retired(SourceIndex? current, IReadOnlySet<string> named, IReadOnlyDictionary<string, string> stored) =>
        current is null
            ? []
            : [.. current.Objects.Select(o => o.Key).Concat(current.Retired)
                .Where(k => k != indexKey && !named.Contains(k) && stored.ContainsKey(k))
                .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    /// <summary>A stream that refuses to grow past the tree's remaining byte budget (a hostile source cannot fill memory).</summary>
    private sealed class CappedStream(MemoryStream inner, string path, long budget) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => inner.Length;

        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (inner.Length + buffer.Length > budget)
            {
                throw new SourceException($"'{PathRules.Shown(path)}' takes the tree past limits.maxBytes; nothing is published");
            }

            inner.Write(buffer);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Write(buffer.AsSpan(offset, count));
            return Task.CompletedTask;
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}

/// <summary>What one publish did.</summary>
/// <param name="Revision">The revision the index names now.</param>
/// <param name="Changed">Whether a new index was written.</param>
/// <param name="Uploaded">Objects uploaded.</param>
/// <param name="Objects">Files the index names.</param>
/// <param name="Retired">Keys the live index lists as retired: deleted after the grace period.</param>
public sealed record IndexPublishResult(string Revision, bool Changed, int Uploaded, int Objects, IReadOnlyList<string> Retired);
