using ConfigSync.Configuration;
using ConfigSync.Diagnostics;
using ConfigSync.Sources.Dir;
using Microsoft.Extensions.Configuration;

namespace ConfigSync.Tests.Configuration;

/// <summary>Credentials in URL settings: refused when they need percent-encoding (the value not printed), registered as secrets when read.</summary>
public sealed class UrlCredentialsTests
{
    [Theory]
    [InlineData("https://user:SL/S3CRET@app.example/reload", "SL/S3CRET")]
    [InlineData("https://user:p@ssW0RD@app.example/reload", "p@ssW0RD")]
    [InlineData("https://user:white SPACE9@app.example/reload", "white SPACE9")]
    [InlineData("https://user:q?MARK1@app.example/reload", "q?MARK1")]
    [InlineData("https://user:h#ASH99@app.example/reload", "h#ASH99")]
    [InlineData("https://user:9/DIGITS@app.example:8443/reload", "9/DIGITS")]
    [InlineData("https://TOK/EN42@app.example/reload", "TOK/EN42")]
    public void Load_SignalUrlWhoseCredentialsNeedEncoding_IsRefusedNamingTheSettingNotTheValue(string url, string secret)
    {
        var settings = Load(new() { ["syncs:0:signal:url"] = url, ["syncs:0:signal:verify:url"] = url }, out var errors);

        Assert.Null(settings);
        Assert.Equal(
            [
                $"syncs[0].signal.url: {UrlCredentials.NeedsEncoding}; better, send them in an Authorization header (signal.headers)",
                $"syncs[0].signal.verify.url: {UrlCredentials.NeedsEncoding}",
            ],
            errors);
        Assert.DoesNotContain(secret, string.Join("\n", errors), StringComparison.Ordinal);
        Assert.Equal("failed: ***", Redact.Text($"failed: {secret}"));
    }

    [Fact]
    public void Load_PercentEncodedPassword_IsAccepted_AndRegisteredInEveryForm()
    {
        var settings = Load(new() { ["syncs:0:signal:url"] = "https://user:SIG%2FPASS%40W0RD@app.example/reload" }, out var errors);

        Assert.Empty(errors);
        Assert.Equal("app.example", settings!.Syncs[0].Signal.Url!.Host);
        Assert.Equal("decoded ***, as written ***", Redact.Text("decoded SIG/PASS@W0RD, as written SIG%2FPASS%40W0RD"));
    }

    [Theory]
    [InlineData("https://app.example/reload")]
    [InlineData("https://user:pw%20ok@app.example:8443/reload?x=1")]
    [InlineData("http://[::1]:8080/reload")]
    public void Load_UrlsThatNeedNoEncoding_AreAccepted(string url)
    {
        Load(new() { ["syncs:0:signal:url"] = url }, out var errors);

        Assert.Empty(errors);
    }

    [Fact]
    public void Load_SignalHeadersThatCarryCredentials_AreRegistered_OthersAreNot()
    {
        var settings = Load(new()
        {
            ["syncs:0:signal:url"] = "https://app.example/reload",
            ["syncs:0:signal:headers:Authorization"] = "Bearer HDR-T0KEN-VALUE",
            ["syncs:0:signal:headers:X-Api-Key"] = "KEY-VALUE-77",
            ["syncs:0:signal:headers:X-Tenant"] = "tenant-blue",
        }, out var errors);

        Assert.Empty(errors);
        Assert.NotNull(settings);
        Assert.Equal("sent *** and ***, tenant-blue", Redact.Text("sent HDR-T0KEN-VALUE and KEY-VALUE-77, tenant-blue"));
    }

    private static DaemonSettings? Load(Dictionary<string, string?> values, out IReadOnlyList<string> errors)
    {
        values["syncs:0:name"] = "a";
        values["syncs:0:source:type"] = "dir";
        values["syncs:0:source:path"] = "x";
        values["syncs:0:target:root"] = "out";
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        return SettingsLoader.Load(configuration, [new DirectorySourceFactory()], "/base", out errors);
    }
}
