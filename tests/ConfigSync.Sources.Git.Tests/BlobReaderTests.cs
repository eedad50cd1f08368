using ConfigSync.Sources.Git.Tests.TestSupport;

namespace ConfigSync.Sources.Git.Tests;

/// <summary>Blobs read straight from libgit2, against repositories made with the git CLI.</summary>
public sealed class BlobReaderTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly GitRepo _repo;

    public BlobReaderTests()
    {
        _repo = new GitRepo(_temp.Path);
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void CopyTo_WritesTheBlobsBytes_EmptyAndLargerThanOneChunkToo()
    {
        var large = new byte[200 * 1024 + 7];
        Random.Shared.NextBytes(large);
        File.WriteAllBytes(Path.Combine(_repo.Work, "large.bin"), large);
        _repo.Write("empty", string.Empty);
        _repo.Commit("blobs");
        using var reader = new BlobReader(_repo.Bare);

        Assert.Equal(large, Read(reader, BlobId("large.bin")));
        Assert.Empty(Read(reader, BlobId("empty")));
    }

    [Fact]
    public void UnknownOrMalformedId_IsANamedError()
    {
        _repo.Write("app.yaml", "port: 1");
        _repo.Commit("one");
        using var reader = new BlobReader(_repo.Bare);
        var missing = new string('0', 39) + "1";

        var unknown = Assert.Throws<SourceException>(() => Read(reader, missing));
        var malformed = Assert.Throws<SourceException>(() => Read(reader, "not-an-id"));

        Assert.StartsWith($"cannot read blob {missing} from {_repo.Bare}: ", unknown.Message, StringComparison.Ordinal);
        Assert.Equal("'not-an-id' is not a git object id", malformed.Message);
    }

    [Fact]
    public void MissingFolder_IsANamedError()
    {
        var folder = _temp.Combine("nowhere.git");

        var error = Assert.Throws<SourceException>(() => new BlobReader(folder));

        Assert.StartsWith($"cannot open the object cache {folder}: ", error.Message, StringComparison.Ordinal);
    }

    private static byte[] Read(BlobReader reader, string sha)
    {
        using var buffer = new MemoryStream();
        reader.CopyTo(sha, buffer, CancellationToken.None);
        return buffer.ToArray();
    }

    private string BlobId(string path) => Shell.Run(_repo.Work, "git", "rev-parse", "HEAD:" + path);
}
