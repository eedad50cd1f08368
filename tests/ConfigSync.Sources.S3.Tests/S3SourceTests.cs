using ConfigSync.Publishing;
using ConfigSync.Sources.S3.Tests.TestSupport;

namespace ConfigSync.Sources.S3.Tests;

/// <summary>The s3 source against a real s3rver on 127.0.0.1, seeded with the AWS SDK.</summary>
public sealed class S3SourceTests : IAsyncLifetime
{
    private static readonly ISourceFactory Factory = new S3SourceFactory();
    private readonly TempFolder _temp = new();
    private S3rver _s3 = null!;

    private string Root => _temp.Combine("volume");

    public async Task InitializeAsync()
    {
        _s3 = await S3rver.StartAsync(_temp.Combine("s3data"));
        _temp.Write("secret/key-id", S3rver.KeyId);
        _temp.Write("secret/secret", S3rver.Secret);
    }

    public async Task DisposeAsync()
    {
        await _s3.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public async Task InitialSync_PublishesObjectsUnderThePrefix_AndSkipsFolderMarkers()
    {
        await _s3.PutAsync("prod/app.yaml", "port: 1");
        await _s3.PutAsync("prod/conf/db.yaml", "pool: 5");
        await _s3.PutAsync("prod/empty-folder/", string.Empty);
        await _s3.PutAsync("production/other.yaml", "not mine");
        await _s3.PutAsync("dev/app.yaml", "dev");
        await using var s3 = Harness(("prefix", "prod"));

        var manifest = await s3.SyncAsync();

        Assert.Equal(["app.yaml", "conf/db.yaml"], manifest!.Files.Select(f => f.Path));
        Assert.Equal("pool: 5", s3.Read("conf/db.yaml"));
        Assert.False(Directory.Exists(Path.Combine(s3.Live, "empty-folder")));
    }

    [Fact]
    public async Task UnchangedBucket_ListsOnly_AndDownloadsNothing()
    {
        await _s3.PutAsync("a.yaml", "1");
        await _s3.PutAsync("b.yaml", "2");
        await using var s3 = Harness();
        await s3.SyncAsync();
        var source = (S3Source)s3.Source;
        Assert.Equal(2, source.Downloads);

        Assert.Null(await s3.SyncAsync());

        Assert.Equal(2, source.Downloads);
        Assert.Equal(2, source.ListRequests);
    }

    [Fact]
    public async Task OneChangedObject_IsTheOnlyDownload_AndDeletedObjectsDisappear()
    {
        for (var i = 0; i < 10; i++)
        {
            await _s3.PutAsync($"f{i}.yaml", S3rver.Text(i));
        }

        await using var s3 = Harness();
        var first = await s3.SyncAsync();
        var source = (S3Source)s3.Source;

        await _s3.PutAsync("f3.yaml", "changed");
        await _s3.DeleteAsync("f7.yaml");
        var second = await s3.SyncAsync();

        Assert.Equal(11, source.Downloads);
        Assert.Equal("changed", s3.Read("f3.yaml"));
        Assert.False(File.Exists(Path.Combine(s3.Live, "f7.yaml")));
        Assert.Equal(9, second!.Files.Count);
        Assert.NotEqual(first!.Revision, second.Revision);
    }

    [Fact]
    public async Task MoreKeysThanOnePage_AreAllPublished()
    {
        for (var i = 0; i < 23; i++)
        {
            await _s3.PutAsync($"d{i % 3}/f{i}.txt", S3rver.Text(i));
        }

        await using var s3 = Harness(("pageSize", "5"));

        var manifest = await s3.SyncAsync();

        Assert.Equal(23, manifest!.Files.Count);
        Assert.Equal(5, ((S3Source)s3.Source).ListRequests);
        Assert.Equal("v22", s3.Read("d1/f22.txt"));
    }

    [Fact]
    public async Task KeyThatIsBothFileAndFolder_FailsByName_AndTheLiveTreeStays()
    {
        await _s3.PutAsync("app.yaml", "good");
        await using var s3 = Harness();
        await s3.SyncAsync();

        await _s3.PutAsync("conf", "a file");
        await _s3.PutAsync("conf/db.yaml", "inside");
        var error = await Assert.ThrowsAsync<PublishException>(() => s3.SyncAsync());

        Assert.Contains("'conf' is both a file and a folder (it holds 'conf/db.yaml')", error.Message);
        Assert.Equal("good", s3.Read("app.yaml"));
    }

    [Fact]
    public async Task TraversalKey_FailsByName_AndNothingIsWrittenOutsideTheTree()
    {
        await _s3.PutAsync("app.yaml", "good");
        await _s3.PutAsync("conf/..", "climbs out");
        await using var s3 = Harness();

        var error = await Assert.ThrowsAsync<PublishException>(() => s3.SyncAsync());

        Assert.Contains("'conf/..' contains '..'", error.Message);
        Assert.False(Path.Exists(s3.Live));
    }

    [Fact]
    public async Task TwoThousandFiveHundredObjects_ArePagedThroughAtTheRealPageSize()
    {
        await Parallel.ForEachAsync(Enumerable.Range(0, 2500), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
            await _s3.PutAsync($"nested/d{i % 25}/deeper/f{i}.yaml", S3rver.Text(i)));
        await using var s3 = Harness(("prefix", "nested"));

        var manifest = await s3.SyncAsync();

        Assert.Equal(2500, manifest!.Files.Count);
        Assert.Equal(3, ((S3Source)s3.Source).ListRequests);
        Assert.Equal("v2499", s3.Read("d24/deeper/f2499.yaml"));
    }

    [Fact]
    public async Task ServerDownAtStart_IsANamedError_AndNothingIsPublished()
    {
        await using var s3 = SourceHarness.Create(Factory, Root, new Dictionary<string, string?>
        {
            ["bucket"] = "config",
            ["endpoint"] = $"http://127.0.0.1:{AppListener.FreePort()}",
            ["auth:accessKeyIdFile"] = _temp.Combine("secret", "key-id"),
            ["auth:secretAccessKeyFile"] = _temp.Combine("secret", "secret"),
        });

        var error = await Assert.ThrowsAsync<SourceException>(() => s3.SyncAsync());

        Assert.Contains("s3://config/ at http://127.0.0.1:", error.Message);
        Assert.False(Path.Exists(s3.Live));
    }

    [Fact]
    public async Task ObjectReplacedAfterListing_FailsTheSync_InsteadOfPublishingAMix()
    {
        await _s3.PutAsync("a.yaml", "1");
        await _s3.PutAsync("b.yaml", "1");
        await using var s3 = Harness(("parallelism", "1"));
        var snapshot = await s3.PollAsync();

        await _s3.PutAsync("b.yaml", "2 - replaced while syncing");
        var error = await Assert.ThrowsAsync<SourceException>(() => s3.Publisher.PublishAsync(snapshot!, snapshot!.Entries, CancellationToken.None));

        Assert.Contains("'b.yaml' changed during the sync", error.Message);
        Assert.False(Path.Exists(s3.Live));
        Assert.Equal("2 - replaced while syncing", (await s3.SyncAsync()) is null ? null : s3.Read("b.yaml"));
    }

    [Fact]
    public async Task BodyThatDoesNotMatchItsETag_FailsByName_AndTheLiveTreeStays()
    {
        await _s3.PutAsync("a.yaml", "good");
        await using var s3 = Harness();
        await s3.SyncAsync();

        // s3rver serves the stored bytes with the ETag computed at upload: flip one byte on its disk.
        await _s3.PutAsync("b.yaml", "0123456789");
        File.WriteAllText(_temp.Combine("s3data", "config", "b.yaml._S3rver_object"), "0123456780");
        var error = await Assert.ThrowsAsync<SourceException>(() => s3.SyncAsync());

        Assert.Contains("'b.yaml': the bytes received do not match the object's ETag (an MD5)", error.Message);
        Assert.Equal(["a.yaml"], Directory.GetFiles(s3.Live).Select(Path.GetFileName));
    }

    [Fact]
    public async Task UnknownAccessKey_IsANamedError_WithoutTheSecret_AndARotatedKeyIsPickedUp()
    {
        await _s3.PutAsync("a.yaml", "1");
        var keyFile = _temp.Write("secret/key-id", "AKIAWRONGWRONG");
        _temp.Write("secret/secret", Captured.Secret("very-secret-value"));
        await using var s3 = Harness();

        var error = await Assert.ThrowsAsync<SourceException>(() => s3.SyncAsync());
        Assert.Contains("the credentials were refused for bucket 'config' (InvalidAccessKeyId)", error.Message);
        Assert.DoesNotContain("very-secret-value", error.ToString());

        File.WriteAllText(keyFile, S3rver.KeyId);
        Assert.NotNull(await s3.SyncAsync());
    }

    [Fact]
    public async Task MissingBucket_IsANamedError()
    {
        await using var s3 = Harness(("bucket", "no-such-bucket"));

        var error = await Assert.ThrowsAsync<SourceException>(() => s3.SyncAsync());

        Assert.Contains("bucket 'no-such-bucket' does not exist", error.Message);
    }

    [Fact]
    public async Task ServerDown_IsANamedErrorAfterAFirstSync_AndTheLiveTreeStays()
    {
        await _s3.PutAsync("a.yaml", "1");
        await using var s3 = Harness();
        await s3.SyncAsync();

        await _s3.DisposeAsync();
        var error = await Assert.ThrowsAsync<SourceException>(() => s3.SyncAsync());

        Assert.Contains($"s3://config/ at {_s3.Endpoint}/", error.Message);
        Assert.Equal("1", s3.Read("a.yaml"));
        _s3 = await S3rver.StartAsync(_temp.Combine("s3data-2"));
    }

    [Fact]
    public async Task Listing_PastMaxFiles_StopsListing_AndFailsByName()
    {
        for (var i = 0; i < 7; i++)
        {
            await _s3.PutAsync($"many/f{i}.yaml", "x");
        }

        await using var s3 = SourceHarness.Create(Factory, Root, Settings(("prefix", "many/"), ("pageSize", "2")), maxEntries: 3);

        var error = await Assert.ThrowsAsync<SourceException>(() => s3.SyncAsync());

        Assert.Contains("s3://config/many/", error.Message);
        Assert.Contains("lists more than limits.maxFiles (3) entries", error.Message);
        Assert.Equal(2, ((S3Source)s3.Source).ListRequests);
    }

    [Fact]
    public async Task Listing_KeyWithAControlCharacter_IsRefusedNamingTheBucketPrefixAndTheKeyEscaped()
    {
        await _s3.PutAsync("ctl/good.yaml", "ok");
        await _s3.PutAsync("ctl/bad\u0001name.yaml", "x");
        await using var s3 = Harness(("prefix", "ctl/"));

        var error = await Assert.ThrowsAsync<SourceException>(() => s3.SyncAsync());

        Assert.Contains("s3://config/ctl/", error.Message);
        Assert.Contains("hexadecimal value 0x01", error.Message);
        Assert.DoesNotContain("\u0001", error.Message);
    }

    private SourceHarness Harness(params (string Key, string Value)[] extra) => SourceHarness.Create(Factory, Root, Settings(extra));

    private Dictionary<string, string?> Settings(params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["bucket"] = _s3.Bucket,
            ["endpoint"] = _s3.Endpoint,
            ["auth:accessKeyIdFile"] = _temp.Combine("secret", "key-id"),
            ["auth:secretAccessKeyFile"] = _temp.Combine("secret", "secret"),
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }
}
