using System.Text;
using ConfigSync.Sources;

namespace ConfigSync.Tests.Sources;

public sealed class SourceIndexTests
{
    private const string IndexKey = "i";
    private static readonly string Zeros = new('0', 64);

    private static readonly SourceIndex Sample = new(
        "9f1c2e",
        new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero),
        "git https://example.com/config.git",
        [new IndexedObject("b/c.yaml", ObjectKeys.For(IndexKey, new string('b', 64)), "etag-2", 3, new string('b', 64)), new IndexedObject("a.yaml", ObjectKeys.For(IndexKey, new string('a', 64), "n0nce"), "etag-1", 5, new string('a', 64), Executable: true)])
    {
        Retired = [ObjectKeys.For(IndexKey, new string('c', 64))],
    };

    [Fact]
    public void WrittenIndex_ReadsBack_SortedByPath()
    {
        var read = SourceIndex.Parse(Sample.ToJson(), "index.json", IndexKey, 10);

        Assert.Equal(Sample.Revision, read.Revision);
        Assert.Equal(Sample.Created, read.Created);
        Assert.Equal(Sample.Source, read.Source);
        Assert.Equal(Sample.Objects.OrderBy(o => o.Path, StringComparer.Ordinal), read.Objects);
        Assert.Equal(Sample.Retired, read.Retired);
        Assert.Equal([new SourceEntry("a.yaml", 5, "etag-1:" + new string('a', 64), true), new SourceEntry("b/c.yaml", 3, "etag-2:" + new string('b', 64))], read.Entries());
    }

    [Theory]
    [InlineData("not json", "is not JSON")]
    [InlineData("[]", "'format'")]
    [InlineData("""{"format":"configsync.io/index/v2","revision":"a","objects":[]}""", "'format' is not")]
    [InlineData("""{"format":"configsync.io/index/v1","objects":[]}""", "'revision' is missing")]
    [InlineData("""{"format":"configsync.io/index/v1","revision":"a/../b","objects":[]}""", "revision 'a/../b'")]
    [InlineData("""{"format":"configsync.io/index/v1","revision":"a\r\nX-Injected: 1","objects":[]}""", "is not 1-128 letters")]
    [InlineData("""{"format":"configsync.io/index/v1","revision":"a"}""", "'objects' is missing")]
    [InlineData("""{"format":"configsync.io/index/v1","revision":"abc\n","objects":[]}""", "is not 1-128 letters")]
    [InlineData("""{"format":"configsync.io/index/v1","revision":"\ud800","objects":[]}""", "'revision' is not valid text")]
    [InlineData("""{"format":"configsync.io/index/v1","revision":"a","objects":[{"path":"\udc00","key":"KEY0","etag":"e","size":1,"sha256":"0000000000000000000000000000000000000000000000000000000000000000"}]}""", "'path' is not valid text")]
    [InlineData("""{"format":"configsync.io/index/v1","revision":"a","objects":[{"path":"x","key":"../k","etag":"e","size":1,"sha256":"0000000000000000000000000000000000000000000000000000000000000000"}]}""", "object 'x' has key '../k', not the key of its SHA-256")]
    [InlineData("""{"format":"configsync.io/index/v1","revision":"a","objects":[],"retired":["/etc/passwd"]}""", "an entry of 'retired' is not an object key")]
    [InlineData("""{"format":"configsync.io/index/v1","revision":"a","objects":[],"retired":["other-team/app.yaml"]}""", "an entry of 'retired' is not an object key")]
    [InlineData("""{"format":"configsync.io/index/v1","revision":"a","objects":[{"path":"x","key":"other-team/app.yaml","etag":"e","size":1,"sha256":"0000000000000000000000000000000000000000000000000000000000000000"}]}""", "object 'x' has key 'other-team/app.yaml', not the key of its SHA-256")]
    [InlineData("""{"format":"configsync.io/index/v1","revision":"a","objects":[{"path":"x","key":"KEY0","etag":"e","size":1,"sha256":"1111111111111111111111111111111111111111111111111111111111111111"}]}""", "not the key of its SHA-256")]
    [InlineData("""{"format":"configsync.io/index/v1","revision":"a","objects":[{"path":"x","key":"KEY0","etag":"e","size":-1,"sha256":"0000000000000000000000000000000000000000000000000000000000000000"}]}""", "object 'x' has no valid 'size'")]
    [InlineData("""{"format":"configsync.io/index/v1","revision":"a","objects":[{"path":"x","key":"KEY0","etag":"e","size":1,"sha256":"ABC"}]}""", "object 'x' has no valid 'sha256'")]
    [InlineData("""{"format":"configsync.io/index/v1","revision":"a","objects":[{"path":"x","key":"KEY0","etag":"","size":1,"sha256":"0000000000000000000000000000000000000000000000000000000000000000"}]}""", "object 'x' has no valid 'etag'")]
    [InlineData("""{"format":"configsync.io/index/v1","revision":"a","objects":[{"path":"x","key":"KEY0","etag":"e","size":1,"sha256":"0000000000000000000000000000000000000000000000000000000000000000"},{"path":"x","key":"KEY0","etag":"e","size":1,"sha256":"0000000000000000000000000000000000000000000000000000000000000000"}]}""", "names 'x' twice")]
    public void BadIndexes_AreRefused_ByName(string json, string expected)
    {
        json = json.Replace("KEY0", ObjectKeys.For(IndexKey, Zeros), StringComparison.Ordinal);
        var e = Assert.Throws<SourceException>(() => SourceIndex.Parse(Encoding.UTF8.GetBytes(json), "prod/.configsync-index.json", IndexKey, 10));
        Assert.Contains("index 'prod/.configsync-index.json'", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ObjectKeys_BelongToTheirIndexAndBytes_Only()
    {
        var key = ObjectKeys.For("a.json", Zeros);
        Assert.True(ObjectKeys.Holds(key, "a.json", Zeros));
        Assert.True(ObjectKeys.Holds(ObjectKeys.For("a.json", Zeros, ObjectKeys.NewNonce()), "a.json", Zeros));
        Assert.False(ObjectKeys.Belongs(key, "b.json")); // another index's namespace
        Assert.False(ObjectKeys.Holds(key, "a.json", new string('1', 64)));
        Assert.False(ObjectKeys.Belongs(key + "/x", "a.json"));
        Assert.False(ObjectKeys.Belongs(key + ".\n", "a.json"));
        Assert.False(ObjectKeys.Belongs("other-team/app.yaml", "a.json"));
    }

    [Fact]
    public void MoreObjectsThanMaxFiles_AreRefused()
    {
        var e = Assert.Throws<SourceException>(() => SourceIndex.Parse(Sample.ToJson(), "i", IndexKey, 1));
        Assert.Contains("limits.maxFiles (1)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnIndexPastTheSizeLimit_IsRefused_WithoutReadingItAll()
    {
        using var endless = new EndlessStream();
        var e = await Assert.ThrowsAsync<TooLargeException>(() => SourceIndex.ReadAsync(endless, "i", CancellationToken.None));
        Assert.Contains("larger than 32 MiB", e.Message, StringComparison.Ordinal);
        Assert.InRange(endless.Served, SourceIndex.MaxBytes, SourceIndex.MaxBytes + (1024 * 1024));
    }

    /// <summary>Random damage to a valid index (bytes flipped, cut, spliced): refused with a SourceException, or read; never another exception.</summary>
    [Fact]
    public void DamagedIndexes_FailOnlyWithSourceException()
    {
        var random = new Random(20261201);
        var valid = Sample.ToJson();
        for (var i = 0; i < 5_000; i++)
        {
            var damaged = valid.ToArray();
            switch (i % 3)
            {
                case 0:
                    for (var k = random.Next(1, 4); k > 0; k--)
                    {
                        damaged[random.Next(damaged.Length)] = (byte)random.Next(256);
                    }

                    break;
                case 1:
                    damaged = damaged[..random.Next(damaged.Length)];
                    break;
                default:
                    var at = random.Next(damaged.Length);
                    damaged = [.. damaged[..at], .. valid[random.Next(valid.Length)..]];
                    break;
            }

            try
            {
                var read = SourceIndex.Parse(damaged, "i", IndexKey, 10);
                Assert.Matches("^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$", read.Revision);
                Assert.All(read.Objects, o => Assert.True(ObjectKeys.Holds(o.Key, IndexKey, o.Sha256)));
                Assert.All(read.Retired, k => Assert.True(ObjectKeys.Belongs(k, IndexKey)));
            }
            catch (SourceException)
            {
                // refused by name
            }
        }
    }

    private sealed class EndlessStream : Stream
    {
        public long Served { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => Served; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            Array.Fill(buffer, (byte)' ', offset, count);
            Served += count;
            return count;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
