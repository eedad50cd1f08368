using ConfigSync.Configuration;
using ConfigSync.Hosting;
using ConfigSync.Sources.AzureBlob;
using ConfigSync.Sources.Git;
using ConfigSync.Sources.S3;
using ConfigSync.Tests.TestSupport;
using Microsoft.Extensions.Configuration;

namespace ConfigSync.Tests.Hosting;

/// <summary>Each source's factory starts from the defaults its options type declares, and repeats none.</summary>
public sealed class SourceOptionsDefaultsTests
{
    [Fact]
    public void Read_GitSourceWithOnlyItsUrl_TakesGitSourceOptionsDefaults()
    {
        var options = Read<GitSourceOptions>("git", ("url", "https://git.example.com/acme/config"));

        SameValues.Assert(new GitSourceOptions { Url = "https://git.example.com/acme/config" }, options, nameof(GitSourceOptions.Auth));
        SameValues.Assert(new GitAuthOptions(), options.Auth);
    }

    [Fact]
    public void Read_GitVerifyWithOnlyItsKeys_TakesGitVerifyOptionsDefaults()
    {
        var options = Read<GitSourceOptions>("git", ("url", "https://git.example.com/acme/config"), ("verify:allowedSignersFile", "/keys/allowed"));

        SameValues.Assert(new GitVerifyOptions { AllowedSignersFile = "/keys/allowed" }, options.Verify!);
    }

    [Fact]
    public void Read_S3SourceWithOnlyItsBucket_TakesS3SourceOptionsDefaults()
    {
        var options = Read<S3SourceOptions>("s3", ("bucket", "configs"));

        SameValues.Assert(new S3SourceOptions { Bucket = "configs" }, options);
    }

    [Fact]
    public void Read_AzureBlobSourceWithOnlyItsContainerUrl_TakesAzureBlobSourceOptionsDefaults()
    {
        var options = Read<AzureBlobSourceOptions>("azureblob", ("containerUrl", "https://acct.blob.core.windows.net/configs"));

        SameValues.Assert(
            new AzureBlobSourceOptions { AccountUrl = new Uri("https://acct.blob.core.windows.net"), Container = "configs", AccountName = "acct" },
            options);
    }

    private static T Read<T>(string type, params (string Key, string Value)[] source)
    {
        var values = new Dictionary<string, string?> { ["syncs:0:name"] = "a", ["syncs:0:source:type"] = type, ["syncs:0:target:root"] = "/tmp/configsync-never-used" };
        foreach (var (key, value) in source)
        {
            values["syncs:0:source:" + key] = value;
        }

        var settings = SettingsLoader.Load(new ConfigurationBuilder().AddInMemoryCollection(values).Build(), SourceCatalog.All, "/", out var errors);

        Assert.Empty(errors);
        return (T)settings!.Syncs[0].Source.Options;
    }
}
