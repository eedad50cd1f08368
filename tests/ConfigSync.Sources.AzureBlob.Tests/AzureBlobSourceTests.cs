using Azure.Storage.Blobs.Models;
using Azure.Storage.Sas;
using ConfigSync.Configuration;
using ConfigSync.Publishing;
using ConfigSync.Sources.AzureBlob.Tests.TestSupport;
using Microsoft.Extensions.Configuration;

namespace ConfigSync.Sources.AzureBlob.Tests;

/// <summary>The azureblob source against a real Azurite on 127.0.0.1, seeded with Azure.Storage.Blobs.</summary>
public sealed class AzureBlobSourceTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>, IAsyncLifetime
{
    private static readonly ISourceFactory Factory = new AzureBlobSourceFactory();
    private readonly TempFolder _temp = new();
    private AzuriteContainer _azurite = null!;

    private string Root => _temp.Combine("volume");

    public async Task InitializeAsync()
    {
        _azurite = await azurite.NewContainerAsync();
        _temp.Write("secret/connection-string", _azurite.ConnectionString);
    }

    public Task DisposeAsync()
    {
        _temp.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task InitialSync_PublishesBlobsUnderThePrefix_Only()
    {
        await _azurite.PutAsync("prod/app.yaml", "port: 1");
        await _azurite.PutAsync("prod/conf/db.yaml", "pool: 5");
        await _azurite.PutAsync("production/other.yaml", "not mine");
        await using var blob = Harness(("prefix", "prod"));

        var manifest = await blob.SyncAsync();

        Assert.Equal(["app.yaml", "conf/db.yaml"], manifest!.Files.Select(f => f.Path));
        Assert.Equal("pool: 5", blob.Read("conf/db.yaml"));
    }

    [Fact]
    public async Task HierarchicalNamespaceDirectoryBlobs_AreSkipped_NotTakenForFiles()
    {
        await _azurite.Client.GetBlobClient("conf").UploadAsync(BinaryData.FromString(string.Empty), new BlobUploadOptions
        {
            Metadata = new Dictionary<string, string> { ["hdi_isfolder"] = "true" },
        });
        await _azurite.PutAsync("conf/db.yaml", "pool: 5");
        await using var blob = Harness();

        var manifest = await blob.SyncAsync();

        Assert.Equal(["conf/db.yaml"], manifest!.Files.Select(f => f.Path));
    }

    [Fact]
    public async Task UnchangedContainer_ListsOnly_AndDownloadsNothing()
    {
        await _azurite.PutAsync("a.yaml", "1");
        await _azurite.PutAsync("b.yaml", "2");
        await using var blob = Harness();
        await blob.SyncAsync();
        var source = (AzureBlobSource)blob.Source;
        Assert.Equal(2, source.Downloads);

        Assert.Null(await blob.SyncAsync());

        Assert.Equal(2, source.Downloads);
        Assert.Equal(2, source.ListRequests);
    }

    [Fact]
    public async Task OneChangedBlob_IsTheOnlyDownload_AndDeletedBlobsDisappear()
    {
        for (var i = 0; i < 10; i++)
        {
            await _azurite.PutAsync($"f{i}.yaml", Azurite.Text(i));
        }

        await using var blob = Harness();
        var first = await blob.SyncAsync();
        var source = (AzureBlobSource)blob.Source;

        await _azurite.PutAsync("f3.yaml", "changed");
        await _azurite.DeleteAsync("f7.yaml");
        var second = await blob.SyncAsync();

        Assert.Equal(11, source.Downloads);
        Assert.Equal("changed", blob.Read("f3.yaml"));
        Assert.Equal("v4", blob.Read("f4.yaml"));
        Assert.False(File.Exists(Path.Combine(blob.Live, "f7.yaml")));
        Assert.Equal(9, second!.Files.Count);
        Assert.NotEqual(first!.Revision, second.Revision);
    }

    [Fact]
    public async Task MoreBlobsThanOnePage_AreAllPublished()
    {
        for (var i = 0; i < 23; i++)
        {
            await _azurite.PutAsync($"d{i % 3}/f{i}.txt", Azurite.Text(i));
        }

        await using var blob = Harness(("pageSize", "5"));

        var manifest = await blob.SyncAsync();

        Assert.Equal(23, manifest!.Files.Count);
        Assert.Equal(5, ((AzureBlobSource)blob.Source).ListRequests);
        Assert.Equal("v22", blob.Read("d1/f22.txt"));
    }

    [Fact]
    public async Task SasTokenFile_IsReadAtEverySync_AndAnExpiredOneIsANamedErrorWithoutTheToken()
    {
        await _azurite.PutAsync("a.yaml", "1");
        var expired = _azurite.Client.GenerateSasUri(BlobContainerSasPermissions.Read | BlobContainerSasPermissions.List, DateTimeOffset.UtcNow.AddHours(-1)).Query;
        var sasFile = _temp.Write("secret/sas", expired);
        await using var blob = SourceHarness.Create(Factory, Root, new()
        {
            ["containerUrl"] = $"{_azurite.AccountUrl}/{_azurite.Name}",
            ["auth:sasTokenFile"] = sasFile,
        });

        var error = await Assert.ThrowsAsync<SourceException>(() => blob.SyncAsync());
        Assert.StartsWith($"the credentials were refused for container '{_azurite.Name}' (Authori", error.Message, StringComparison.Ordinal);
        Assert.Contains("); check auth.sasTokenFile", error.Message, StringComparison.Ordinal);
        var signature = Captured.Secret(System.Web.HttpUtility.ParseQueryString(expired)["sig"]!);
        Captured.Secret(Uri.EscapeDataString(signature));
        Assert.DoesNotContain(signature, error.ToString());
        Assert.DoesNotContain(Uri.EscapeDataString(signature), error.ToString());

        File.WriteAllText(sasFile, _azurite.Client.GenerateSasUri(BlobContainerSasPermissions.Read | BlobContainerSasPermissions.List, DateTimeOffset.UtcNow.AddHours(1)).Query);
        Assert.NotNull(await blob.SyncAsync());
        Assert.Equal("1", blob.Read("a.yaml"));
    }

    [Fact]
    public async Task WrongAccountKey_IsANamedErrorWithoutTheKey_AndARotatedKeyIsPickedUp()
    {
        await _azurite.PutAsync("a.yaml", "1");
        var wrong = Captured.Secret(Convert.ToBase64String(new byte[64]));
        var keyFile = _temp.Write("secret/account-key", wrong);
        await using var blob = SourceHarness.Create(Factory, Root, new()
        {
            ["accountUrl"] = _azurite.AccountUrl,
            ["container"] = _azurite.Name,
            ["auth:accountKeyFile"] = keyFile,
        });

        var error = await Assert.ThrowsAsync<SourceException>(() => blob.SyncAsync());
        Assert.StartsWith($"the credentials were refused for container '{_azurite.Name}' (Authori", error.Message, StringComparison.Ordinal);
        Assert.Contains("); check auth.accountKeyFile", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, error.ToString());

        File.WriteAllText(keyFile, Azurite.AccountKey);
        Assert.NotNull(await blob.SyncAsync());
    }

    [Fact]
    public async Task ConnectionStringFromTheEnvironment_Syncs_AndAMissingVariableIsNamed()
    {
        await _azurite.PutAsync("a.yaml", "1");
        var variable = "CONFIGSYNC_TEST_AZURE_" + Guid.NewGuid().ToString("N");
        await using var blob = SourceHarness.Create(Factory, Root, new()
        {
            ["container"] = _azurite.Name,
            ["auth:connectionStringEnv"] = variable,
        });

        var error = await Assert.ThrowsAsync<SourceException>(() => blob.SyncAsync());
        Assert.Contains($"auth.connectionStringEnv: the environment variable '{variable}' is not set", error.Message);

        Environment.SetEnvironmentVariable(variable, _azurite.ConnectionString);
        try
        {
            Assert.NotNull(await blob.SyncAsync());
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public async Task MissingContainer_IsANamedError()
    {
        await using var blob = Harness(("container", "no-such-container"));

        var error = await Assert.ThrowsAsync<SourceException>(() => blob.SyncAsync());

        Assert.Contains("container 'no-such-container' does not exist", error.Message);
    }

    [Fact]
    public async Task BlobReplacedAfterListing_FailsTheSync_InsteadOfPublishingAMix()
    {
        await _azurite.PutAsync("a.yaml", "1");
        await _azurite.PutAsync("b.yaml", "1");
        await using var blob = Harness(("parallelism", "1"));
        var snapshot = await blob.PollAsync();

        await _azurite.PutAsync("b.yaml", "2 - replaced while syncing");
        var error = await Assert.ThrowsAsync<SourceException>(() => blob.Publisher.PublishAsync(snapshot!, snapshot!.Entries, CancellationToken.None));

        Assert.Contains("'b.yaml' changed during the sync", error.Message);
        Assert.False(Path.Exists(blob.Live));
        Assert.NotNull(await blob.SyncAsync());
        Assert.Equal("2 - replaced while syncing", blob.Read("b.yaml"));
    }

    [Fact]
    public async Task ContentMd5ThatDoesNotMatchTheBytes_FailsTheSync_AndTheLiveTreeStays()
    {
        await _azurite.PutAsync("a.yaml", "good");
        await using var blob = Harness();
        await blob.SyncAsync();

        await _azurite.PutAsync("a.yaml", "damaged in storage");
        await _azurite.Client.GetBlobClient("a.yaml").SetHttpHeadersAsync(new BlobHttpHeaders
        {
            ContentHash = Enumerable.Repeat((byte)7, 16).ToArray(), // an MD5 of other bytes
        });
        var error = await Assert.ThrowsAsync<SourceException>(() => blob.SyncAsync());

        Assert.Contains("'a.yaml': the bytes received do not match the blob's Content-MD5", error.Message);
        Assert.Equal("good", blob.Read("a.yaml"));
    }

    [Fact]
    public async Task NamesThatCollideOrHaveEmptySegments_FailTheSyncByName_AndTheLiveTreeStays()
    {
        await _azurite.PutAsync("app.yaml", "good");
        await using var blob = Harness();
        await blob.SyncAsync();

        await _azurite.PutAsync("conf", "a file");
        await _azurite.PutAsync("conf/db.yaml", "inside");
        var collision = await Assert.ThrowsAsync<PublishException>(() => blob.SyncAsync());
        Assert.Contains("'conf' is both a file and a folder (it holds 'conf/db.yaml')", collision.Message);

        await _azurite.DeleteAsync("conf");
        await _azurite.PutAsync("x//y.yaml", "empty segment");
        var empty = await Assert.ThrowsAsync<PublishException>(() => blob.SyncAsync());
        Assert.Contains("'x//y.yaml' has an empty path segment", empty.Message);
        Assert.Equal("good", blob.Read("app.yaml"));
    }

    [Fact]
    public async Task ServerDown_AtStartAndAfterAFirstSync_IsANamedError_AndTheLiveTreeStays()
    {
        var port = AppListener.FreePort();
        await using (var down = SourceHarness.Create(Factory, _temp.Combine("volume-2"), new()
        {
            ["accountUrl"] = $"http://127.0.0.1:{port}/{Azurite.Account}",
            ["container"] = "config",
            ["auth:accountKeyFile"] = _temp.Write("secret/key", Azurite.AccountKey),
        }))
        {
            var atStart = await Assert.ThrowsAsync<SourceException>(() => down.SyncAsync());
            Assert.Contains($"azureblob http://127.0.0.1:{port}/{Azurite.Account}/config/", atStart.Message);
            Assert.False(Path.Exists(down.Live));
        }

        var own = await Azurite.StartAsync();
        try
        {
            _azurite = await own.CreateContainerAsync("config");
            _temp.Write("secret/connection-string", own.ConnectionString);
            await _azurite.PutAsync("a.yaml", "1");
            await using var blob = Harness();
            await blob.SyncAsync();
            await own.DisposeAsync();

            var later = await Assert.ThrowsAsync<SourceException>(() => blob.SyncAsync());
            Assert.Contains("azureblob container 'config'", later.Message);
            Assert.Equal("1", blob.Read("a.yaml"));

            own = await Azurite.StartAsync();
            _azurite = await own.CreateContainerAsync("config");
            await _azurite.PutAsync("a.yaml", "2");
            _temp.Write("secret/connection-string", own.ConnectionString);
            Assert.NotNull(await blob.SyncAsync());
            Assert.Equal("2", blob.Read("a.yaml"));
        }
        finally
        {
            await own.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("containerUrl=http://x.blob.core.windows.net/config?sv=1&sig=SECRET", "source.containerUrl: 'http://x.blob.core.windows.net/config?sv=1&sig=***' carries a credential; put a SAS token in auth.sasTokenFile instead")]
    [InlineData("containerUrl=https://x.blob.core.windows.net/config|auth:sasTokenFile=/s|auth:workloadIdentity=true", "source.auth.workloadIdentity: choose one way to authenticate; sasTokenFile, workloadIdentity are all set")]
    [InlineData("container=config", "source.containerUrl: required")]
    [InlineData("containerUrl=https://x.blob.core.windows.net/Bad_Name", "source.containerUrl: 'Bad_Name' is not a valid container name")]
    [InlineData("accountUrl=https://x.blob.core.windows.net", "source.container: required")]
    [InlineData("containerUrl=https://x.blob.core.windows.net/config|auth:connectionStringFile=/c", "source.accountUrl: a connection string carries the endpoint")]
    [InlineData("containerUrl=http://10.0.0.1/config|auth:accountKeyFile=/k", "source.auth.accountName: required with accountKeyFile")]
    public void BadSettings_AreNamed(string settings, string expected)
    {
        var values = settings.Split('|').Select(s => s.Split('=', 2)).ToDictionary(p => p[0], p => (string?)p[1]);
        var errors = new List<string>();
        var reader = new SettingsReader(new ConfigurationBuilder().AddInMemoryCollection(values).Build(), "source", errors);

        Factory.ReadOptions(reader, "/");

        Assert.Contains(errors, e => e.StartsWith(expected, StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.Contains("SECRET", StringComparison.Ordinal));
    }

    [Fact]
    public void AccountName_IsReadFromServiceAndEmulatorUrls()
    {
        Assert.Equal("acme", AzureBlobSourceFactory.AccountNameOf(new Uri("https://acme.blob.core.windows.net")));
        Assert.Equal("devstoreaccount1", AzureBlobSourceFactory.AccountNameOf(new Uri("http://127.0.0.1:10000/devstoreaccount1")));
    }

    private SourceHarness Harness(params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["container"] = _azurite.Name,
            ["auth:connectionStringFile"] = _temp.Combine("secret", "connection-string"),
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return SourceHarness.Create(Factory, Root, settings);
    }
}
