using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ConfigSync.Publishing;
using ConfigSync.Sources;
using ConfigSync.Sources.Dir;
using ConfigSync.Tests.TestSupport;

namespace ConfigSync.Tests.Publishing;

/// <summary>
/// The publisher against an in-memory store that keeps S3's semantics (ETags, conditional writes), with a real folder
/// as the source: what the live index names is never overwritten or deleted, a publish that fails halfway leaves the
/// live index whole, a second publisher's index is not overwritten unseen, and objects no index of ours named survive.
/// </summary>
public sealed class IndexPublisherTests : IDisposable
{
    private const string Index = ".configsync-index.json";
    private readonly TempFolder _temp = new();
    private readonly MemoryObjectStore _store = new();

    private string Tree => _temp.Combine("tree");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task AChangedFile_IsANewObject_TheOldOneStaysUntilRetiredAndDeleted()
    {
        Write(("a.yaml", "a: 1\n"), ("b.yaml", "b: 1\n"));
        var first = await PublishAsync();
        var oldA = Key("a: 1\n");

        Write(("a.yaml", "a: 2\n"), ("b.yaml", "b: 1\n"));
        var second = await PublishAsync();

        Assert.Equal((2, 1), (first.Uploaded, second.Uploaded));
        Assert.True(_store.Objects.ContainsKey(oldA)); // readers of the first index can still fetch it
        Assert.Equal([oldA], second.Retired);
        Assert.Equal([oldA], LiveIndex().Retired);
        Assert.Equal(1, await Publisher().DeleteRetiredAsync(second.Retired, CancellationToken.None));
        Assert.False(_store.Objects.ContainsKey(oldA));
        Assert.All(LiveIndex().Objects, o => Assert.Equal(o.ETag, _store.Objects[o.Key].ETag));
    }

    [Fact]
    public async Task ObjectsNoIndexOfOursNamed_AreNeverDeleted()
    {
        _store.Put("other-team/app.yaml", "theirs");
        _store.Put("nested/" + Index, "{}");
        Write(("a.yaml", "a: 1\n"));
        await PublishAsync();
        Write(("a.yaml", "a: 2\n"));
        var result = await PublishAsync();

        Assert.DoesNotContain("other-team/app.yaml", result.Retired);
        Assert.DoesNotContain("nested/" + Index, result.Retired);
        await Publisher().DeleteRetiredAsync(["other-team/app.yaml", "nested/" + Index, .. result.Retired], CancellationToken.None);
        Assert.True(_store.Objects.ContainsKey("other-team/app.yaml"));
        Assert.True(_store.Objects.ContainsKey("nested/" + Index));
    }

    [Fact]
    public async Task APublishThatFailsHalfway_LeavesTheLiveIndexWhole()
    {
        Write(("a.yaml", "a: 1\n"), ("b.yaml", "b: 1\n"));
        await PublishAsync();
        var live = _store.Objects[Index];

        Write(("a.yaml", "a: 2\n"), ("b.yaml", "b: 2\n"));
        _store.FailPutAfter = 1; // the second upload fails
        await Assert.ThrowsAsync<SourceException>(PublishAsync);
        _store.FailPutAfter = null;

        Assert.Equal(live, _store.Objects[Index]);
        Assert.All(LiveIndex().Objects, o => Assert.Equal(o.Sha256, Sha(_store.Objects[o.Key].Bytes)));
    }

    [Fact]
    public async Task AnIndexWrittenByAnotherPublisherMeanwhile_IsNotOverwritten()
    {
        Write(("a.yaml", "a: 1\n"));
        await PublishAsync();
        Write(("a.yaml", "a: 2\n"));
        _store.BeforeIndexWrite = () => _store.Put(Index, new SourceIndex("other", DateTimeOffset.UnixEpoch, "another publisher", []).ToJson());

        var e = await Assert.ThrowsAsync<SourceException>(PublishAsync);

        Assert.Contains("was written by another publisher while this one ran", e.Message, StringComparison.Ordinal);
        Assert.Equal("other", LiveIndex().Revision);
    }

    [Fact]
    public async Task AnUnreadableLiveIndex_DeletesNothing_AndIsPublishedOverAfresh()
    {
        Write(("a.yaml", "a: 1\n"));
        await PublishAsync();
        Write(("a.yaml", "a: 2\n"));
        var result = await PublishAsync();
        _store.Put(Index, "{ damaged");

        Assert.Equal(0, await Publisher().DeleteRetiredAsync(result.Retired, CancellationToken.None));
        Assert.All(result.Retired, k => Assert.True(_store.Objects.ContainsKey(k)));
        var again = await PublishAsync();
        Assert.True(again.Changed);
        Assert.Equal(Sha("a: 2\n"), LiveIndex().Objects.Single().Sha256);
    }

    [Fact]
    public async Task AnObjectReplacedBehindTheIndex_IsUploadedAgain_EvenAtTheSameRevision()
    {
        Write(("a.yaml", "a: 1\n"));
        await PublishAsync();
        _store.Put(Key("a: 1\n"), "tampered");

        var result = await PublishAsync();

        Assert.True(result.Changed);
        Assert.Equal(1, result.Uploaded);
        Assert.Equal("a: 1\n", Encoding.UTF8.GetString(_store.Objects[Key("a: 1\n")].Bytes));
    }

    [Fact]
    public async Task AHostileIndexRetiringOtherKeys_IsRefused_AndTheirObjectsSurvive()
    {
        _store.Put("other-team/app.yaml", "theirs");
        Write(("a.yaml", "a: 1\n"));
        await PublishAsync();
        var live = LiveIndex();
        var hostile = live.ToJson();
        hostile = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(hostile).Replace("\"retired\": []", "\"retired\": [\"other-team/app.yaml\"]", StringComparison.Ordinal));
        Assert.Contains("other-team/app.yaml", Encoding.UTF8.GetString(hostile), StringComparison.Ordinal);
        _store.Put(Index, hostile);

        Write(("a.yaml", "a: 2\n"));
        var result = await PublishAsync();
        await Publisher().DeleteRetiredAsync([.. result.Retired, "other-team/app.yaml"], CancellationToken.None);

        Assert.True(_store.Objects.ContainsKey("other-team/app.yaml"));
        Assert.DoesNotContain("other-team/app.yaml", LiveIndex().Retired);
    }

    [Fact]
    public async Task AFailureToReadTheLiveIndex_PublishesNothing()
    {
        Write(("a.yaml", "a: 1\n"));
        await PublishAsync();
        var live = _store.Objects[Index];
        var puts = _store.Puts;
        Write(("a.yaml", "a: 2\n"));
        _store.FailReadKey = Index;

        var e = await Assert.ThrowsAsync<SourceException>(PublishAsync);

        Assert.Contains("SlowDown", e.Message, StringComparison.Ordinal);
        Assert.Equal(live, _store.Objects[Index]);
        Assert.Equal(puts, _store.Puts);
    }

    [Fact]
    public async Task BytesBroughtBackWhileTheirDeletionIsPending_GetAFreshKey()
    {
        Write(("a.yaml", "a: 1\n"));
        await PublishAsync();
        Write(("a.yaml", "a: 2\n"));
        var first = await PublishAsync(); // retires a: 1; its deletion waits for the grace period
        Write(("a.yaml", "a: 1\n"));
        await PublishAsync(); // a revert within the grace period

        await Publisher().DeleteRetiredAsync(first.Retired, CancellationToken.None); // the first run's deletion comes due

        var named = LiveIndex().Objects.Single();
        Assert.NotEqual(Key("a: 1\n"), named.Key);
        Assert.True(ObjectKeys.Holds(named.Key, Index, Sha("a: 1\n")));
        Assert.Equal(named.ETag, _store.Objects[named.Key].ETag);
    }

    [Fact]
    public async Task TwoIndexesInOnePrefix_NeverDeleteEachOthersObjects()
    {
        var other = _temp.Combine("other");
        Directory.CreateDirectory(other);
        File.WriteAllText(Path.Combine(other, "common.yaml"), "c: 1\n");
        Write(("common.yaml", "c: 1\n"));
        await PublishAsync();
        await Publisher(index: "b.json", tree: other).PublishAsync(CancellationToken.None);

        Write(("common.yaml", "c: 2\n"));
        var result = await PublishAsync();
        await Publisher().DeleteRetiredAsync(result.Retired, CancellationToken.None);

        var b = LiveIndex("b.json").Objects.Single();
        Assert.Equal(b.ETag, _store.Objects[b.Key].ETag);
    }

    [Fact]
    public async Task AnObjectAlreadyThereWithTheseBytes_IsReused_NotRewritten()
    {
        _store.Put(Key("a: 1\n"), "a: 1\n"); // left by a run that stopped before its index, or by a racing publisher
        var etag = _store.Objects[Key("a: 1\n")].ETag;
        Write(("a.yaml", "a: 1\n"));

        var result = await PublishAsync();

        Assert.Equal(etag, _store.Objects[Key("a: 1\n")].ETag);
        Assert.Equal(etag, LiveIndex().Objects.Single().ETag);
        Assert.Equal(1, result.Uploaded);
    }

    [Fact]
    public async Task OtherFilesAtTheSameSourceRevision_GetARevisionOfTheirOwn_TheSameFilesKeepIt()
    {
        Write(("a.yaml", "a: 1\n"));
        await new IndexPublisher(new FixedRevision(Tree, "r1"), _store, Index, 1000, long.MaxValue, TimeProvider.System).PublishAsync(CancellationToken.None);
        Assert.Equal("r1", LiveIndex().Revision);

        // The publisher's settings changed (another path), the source's revision did not: readers must still see a change.
        Write(("a.yaml", "a: 1\n"), ("b.yaml", "b: 1\n"));
        _store.Put(Key("a: 1\n"), "tampered"); // and an object to repair, so the index is not intact
        await new IndexPublisher(new FixedRevision(Tree, "r1"), _store, Index, 1000, long.MaxValue, TimeProvider.System).PublishAsync(CancellationToken.None);
        var second = LiveIndex().Revision;
        Assert.Matches("^r1\\.[0-9a-f]{8}$", second);

        _store.Put(Key("b: 1\n"), "tampered");
        await new IndexPublisher(new FixedRevision(Tree, "r1"), _store, Index, 1000, long.MaxValue, TimeProvider.System).PublishAsync(CancellationToken.None);
        Assert.Equal(second, LiveIndex().Revision); // the same files repaired: the same revision
        Assert.Equal("b: 1\n", Encoding.UTF8.GetString(_store.Objects[Key("b: 1\n")].Bytes));

        // Nothing changed and the store is whole: no new index (each one would cost every reader a full GET).
        var etag = _store.Objects[Index].ETag;
        var again = await new IndexPublisher(new FixedRevision(Tree, "r1"), _store, Index, 1000, long.MaxValue, TimeProvider.System).PublishAsync(CancellationToken.None);
        Assert.False(again.Changed);
        Assert.Equal(etag, _store.Objects[Index].ETag);
    }

    /// <summary>
    /// Generated: a tree published, then its live index rewritten by someone with write access to the bucket (retired
    /// lists and object keys drawn from other teams' keys, other namespaces, our own named keys and junk; the result may
    /// or may not parse), then a changed tree published and deletion asked for every key there is. However the index
    /// was bent, no key outside our namespace is deleted or changed, and every object the live index names is there
    /// with the ETag and bytes it records.
    /// </summary>
    [Fact]
    public async Task GeneratedHostileIndexes_NeverCostAForeignObject_OrOneTheLiveIndexNames()
    {
        var random = new Random(20261201);
        for (var round = 0; round < 200; round++)
        {
            var store = new MemoryObjectStore();
            var foreign = Enumerable.Range(0, random.Next(2, 6)).Select(i => random.Next(3) switch
            {
                0 => $"other-team/app{i}.yaml",
                1 => ObjectKeys.For("b.json", Sha($"theirs {round} {i}")), // another index's object
                _ => $".configsync/objects/{i}{random.Next(1000)}",
            }).Distinct().ToList();
            foreach (var key in foreign)
            {
                store.Put(key, "theirs " + key);
            }

            var before = foreign.ToDictionary(k => k, k => store.Objects[k].ETag);
            Write([.. Enumerable.Range(0, random.Next(1, 5)).Select(i => ($"f{i}.yaml", $"v: {random.Next(4)}\n"))]);
            await Publisher(store).PublishAsync(CancellationToken.None);
            var ours = SourceIndex.Parse(store.Objects[Index].Bytes, Index, Index, int.MaxValue).Objects.Select(o => o.Key).ToList();

            var bent = JsonNode.Parse(store.Objects[Index].Bytes)!.AsObject();
            string Pick() => random.Next(4) switch
            {
                0 => foreign[random.Next(foreign.Count)],
                1 when ours.Count > 0 => ours[random.Next(ours.Count)],
                2 => ObjectKeys.For(Index, Sha($"junk {random.Next(100)}")),
                _ => "../" + foreign[random.Next(foreign.Count)],
            };
            foreach (var _ in Enumerable.Range(0, random.Next(1, 4)))
            {
                bent["retired"]!.AsArray().Add(Pick());
            }

            if (random.Next(2) == 0 && bent["objects"]!.AsArray().Count > 0)
            {
                bent["objects"]![0]!["key"] = Pick();
            }

            store.Put(Index, Encoding.UTF8.GetBytes(bent.ToJsonString()));
            Write([.. Enumerable.Range(0, random.Next(1, 5)).Select(i => ($"f{i}.yaml", $"v: {random.Next(4)}\n"))]);
            var result = await Publisher(store).PublishAsync(CancellationToken.None);
            await Publisher(store).DeleteRetiredAsync([.. result.Retired, .. foreign, .. ours, .. store.Objects.Keys], CancellationToken.None);

            Assert.All(foreign, k => Assert.Equal(before[k], store.Objects[k].ETag));
            Assert.All(SourceIndex.Parse(store.Objects[Index].Bytes, Index, Index, int.MaxValue).Objects, o =>
            {
                Assert.Equal(o.ETag, store.Objects[o.Key].ETag);
                Assert.Equal(o.Sha256, Sha(store.Objects[o.Key].Bytes));
            });
        }
    }

    [Fact]
    public async Task ATreePastMaxBytes_IsRefused_WithoutWritingTheIndex()
    {
        Write(("a.yaml", new string('a', 4000)), ("b.yaml", new string('b', 4000)));
        var e = await Assert.ThrowsAnyAsync<Exception>(() => Publisher(maxBytes: 5000).PublishAsync(CancellationToken.None));

        Assert.Contains("limits.maxBytes", e.Message, StringComparison.Ordinal);
        Assert.False(_store.Objects.ContainsKey(Index));
    }

    private static string Sha(string text) => Sha(Encoding.UTF8.GetBytes(text));

    private static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static string Key(string content, string index = Index) => ObjectKeys.For(index, Sha(content));

    private SourceIndex LiveIndex(string index = Index) => SourceIndex.Parse(_store.Objects[index].Bytes, index, index, int.MaxValue);

    private IndexPublisher Publisher(MemoryObjectStore store) =>
        new(new DirectorySource(new DirectorySourceOptions { Path = Tree }, () => { }), store, Index, 1000, long.MaxValue, TimeProvider.System);

    private IndexPublisher Publisher(long maxBytes = long.MaxValue, string index = Index, string? tree = null) =>
        new(new DirectorySource(new DirectorySourceOptions { Path = tree ?? Tree }, () => { }), _store, index, 1000, maxBytes, TimeProvider.System);

    private Task<IndexPublishResult> PublishAsync() => Publisher().PublishAsync(CancellationToken.None);

    private void Write(params (string Path, string Content)[] files)
    {
        if (Directory.Exists(Tree))
        {
            Directory.Delete(Tree, recursive: true);
        }

        Directory.CreateDirectory(Tree);
        foreach (var (path, content) in files)
        {
            _temp.Write("tree/" + path, content);
        }
    }

    /// <summary>A folder whose every snapshot claims one revision (a source whose settings changed, not its commit).</summary>
    private sealed class FixedRevision(string folder, string revision) : IConfigSource
    {
        private readonly DirectorySource _inner = new(new DirectorySourceOptions { Path = folder }, () => { });

        public string Describe => _inner.Describe;

        public async Task<SourceSnapshot?> PollAsync(PollContext context, CancellationToken cancellationToken) =>
            context.LastRevision == revision ? null : new Snapshot(revision, (await _inner.PollAsync(new PollContext(null), cancellationToken))!);

        public ValueTask DisposeAsync() => _inner.DisposeAsync();

        private sealed class Snapshot(string revision, SourceSnapshot inner) : SourceSnapshot(revision, inner.Entries)
        {
            public override Task WriteContentAsync(SourceEntry entry, Stream destination, CancellationToken cancellationToken) =>
                inner.WriteContentAsync(entry, destination, cancellationToken);
        }
    }
}
