using ConfigSync.Configuration;
using ConfigSync.Sources.Dir;
using Microsoft.Extensions.Configuration;

namespace ConfigSync.Tests.Configuration;

/// <summary>The <c>{revision}</c> and <c>{sync}</c> placeholders: in header and environment values, and in <c>signal.verify.url</c>.</summary>
public sealed class RevisionTemplateTests
{
    [Fact]
    public void Expand_ReplacesEveryPlaceholder_AndNothingElse()
    {
        Assert.Equal("9f1c 9f1c app {Revision} {other}", RevisionTemplate.Expand("{revision} {revision} {sync} {Revision} {other}", "9f1c", "app"));
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080/version", "http://127.0.0.1:8080/version")]
    [InlineData("http://app:8080/applied/{revision}", "http://app:8080/applied/v1%2Fhot%20fix")]
    [InlineData("https://app/v?rev={revision}&again={revision}", "https://app/v?rev=v1%2Fhot%20fix&again=v1%2Fhot%20fix")]
    [InlineData("http://app/v#{revision}", "http://app/v#v1%2Fhot%20fix")]
    public void TryParseUrl_PlaceholderInPathQueryOrFragment_ExpandsToTheEscapedRevision(string template, string expected)
    {
        Assert.True(RevisionTemplate.TryParseUrl(template, out var url, out var problem));
        Assert.Equal(string.Empty, problem);
        Assert.Equal(expected, RevisionTemplate.ExpandUrl(url, "v1/hot fix").OriginalString);
    }

    [Theory]
    [InlineData("http://app-{revision}.local:8080/version")]
    [InlineData("http://{revision}/version")]
    [InlineData("https://app.{revision}/")]
    [InlineData("http://user{revision}@app/version")]
    public void TryParseUrl_PlaceholderInTheHost_IsRefused(string template)
    {
        Assert.False(RevisionTemplate.TryParseUrl(template, out var url, out var problem));
        Assert.Null(url);
        Assert.Equal(RevisionTemplate.NotInPath, problem);
    }

    [Theory]
    [InlineData("app:8080/version")]
    [InlineData("/version")]
    [InlineData("ftp://app/{revision}")]
    [InlineData("http://app:{revision}/version")]
    public void TryParseUrl_NoAbsoluteHttpUrl_IsRefused(string template)
    {
        Assert.False(RevisionTemplate.TryParseUrl(template, out _, out var problem));
        Assert.Equal(RevisionTemplate.NotHttpUrl, problem);
    }

    [Fact]
    public void Load_VerifyUrlWithThePlaceholderInTheHost_IsANamedError_NotAnException()
    {
        var values = new Dictionary<string, string?>
        {
            ["syncs:0:name"] = "a", ["syncs:0:source:type"] = "dir", ["syncs:0:source:path"] = "cfg", ["syncs:0:target:root"] = "out",
            ["syncs:0:signal:verify:url"] = "http://app-{revision}.local:8080/version",
        };

        var settings = SettingsLoader.Load(new ConfigurationBuilder().AddInMemoryCollection(values).Build(), [new DirectorySourceFactory()], "/base", out var errors);

        Assert.Null(settings);
        Assert.Equal([$"syncs[0].signal.verify.url: 'http://app-{{revision}}.local:8080/version' {RevisionTemplate.NotInPath}"], errors);
    }
}
