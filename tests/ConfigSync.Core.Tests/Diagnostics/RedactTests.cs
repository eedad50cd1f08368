using System.Text;
using ConfigSync.Configuration;
using ConfigSync.Diagnostics;
using Microsoft.Extensions.Configuration;
using Xunit.Abstractions;

namespace ConfigSync.Tests.Diagnostics;

/// <summary>Credentials removed from text by parsing URLs, and by the registry of known secrets.</summary>
public sealed class RedactTests(ITestOutputHelper output)
{
    private const string HostileAlphabet = "@/:%#? \t\u00a0'&=+;!$*,~-._";

    private static readonly string[] Unicode = ["é", "ß", "Ж", "漢", "字", "🙂", "\u200b", "\u3000"];

    public static TheoryData<string, string, string> Urls => new()
    {
        // input, the secret that must be gone, the expected output
        { "https://user:SL/S3CRET@git.example.com/repo.git", "SL/S3CRET", "https://***@git.example.com/repo.git" },
        { "https://user:p@ss@git.example.com/repo.git", "p@ss", "https://***@git.example.com/repo.git" },
        { "https://user:a:b:c@git.example.com/x", "a:b:c", "https://***@git.example.com/x" },
        { "https://user:100%25sure@git.example.com/x", "100%25sure", "https://***@git.example.com/x" },
        { "https://user:p#ss@git.example.com/x", "p#ss", "https://***@git.example.com/x" },
        { "https://user:p?ss@git.example.com/x", "p?ss", "https://***@git.example.com/x" },
        { "https://user:?pss@git.example.com/x", "?pss", "https://***@git.example.com/x" },
        { "https://user:SL%2FS3CRET@git.example.com/x", "SL%2FS3CRET", "https://***@git.example.com/x" },
        { "https://user:pw%40with%20space@git.example.com:8443/x", "pw%40with%20space", "https://***@git.example.com:8443/x" },
        { "https://deploy-bot-user@git.example.com/x", "deploy-bot-user", "https://***@git.example.com/x" },
        { "https://ghp_0123456789abcdef@github.com/org/repo.git", "ghp_0123456789abcdef", "https://***@github.com/org/repo.git" },
        { "https://acct.blob.core.windows.net/c?sv=2024-05-04&sig=AbC%2Bd%3D&se=2026", "AbC%2Bd%3D", "https://acct.blob.core.windows.net/c?sv=2024-05-04&sig=***&se=2026" },
        { "GET https://s3.example/b/k?X-Amz-Credential=AKIA%2F20260101&x-amz-signature=deadbeef01 failed", "deadbeef01", "GET https://s3.example/b/k?X-Amz-Credential=***&x-amz-signature=*** failed" },
        { "https://app.example/callback?state=1&code=xyz123&client_secret=shh-shh", "xyz123", "https://app.example/callback?state=1&code=***&client_secret=***" },
        { "cloning https://a:pw-one@one.example/x and https://b:pw-two@two.example/y failed", "pw-one", "cloning https://***@one.example/x and https://***@two.example/y failed" },
        { "cloning https://a:pw-one@one.example/x and https://b:pw-two@two.example/y failed", "pw-two", "cloning https://***@one.example/x and https://***@two.example/y failed" },
        { "fetch failed for https://user:hunter22@git.example.com.", "hunter22", "fetch failed for https://***@git.example.com." },
        { "'https://user:s3cret-quoted@example.com/reload' is not valid", "s3cret-quoted", "'https://***@example.com/reload' is not valid" },
        { "{\"url\":\"https://user:in-json@example.com/x\"}", "in-json", "{\"url\":\"https://***@example.com/x\"}" },
        { "https://proxy.example/?next=https://u:inner-pw@inner.example/", "inner-pw", "https://proxy.example/?next=https://***@inner.example/" },
    };

    [Theory]
    [MemberData(nameof(Urls))]
    public void Url_CredentialsInAnyForm_AreHidden_AndTheHostShown(string text, string secret, string expected)
    {
        var redacted = Redact.Url(text);

        Assert.DoesNotContain(secret, redacted, StringComparison.Ordinal);
        Assert.Equal(expected, redacted);
    }

    [Theory]
    [InlineData("ssh: git@github.com:org/repo.git: Permission denied")]
    [InlineData("https://git.example.com:8443/x?email=a@b.example")]
    [InlineData("http://[::1]:8080/reload")]
    [InlineData("no URL here, only a@b and x:y")]
    public void Url_WithoutCredentials_IsLeftAsItIs(string text) => Assert.Equal(text, Redact.Url(text));

    [Fact]
    public void Register_Secret_IsReplacedRawDecodedAndEncoded_ButShortValuesAreIgnored()
    {
        Redact.Register("reg/S3CRET é");
        Redact.Register("abc");

        var redacted = Redact.Text("raw reg/S3CRET é, encoded reg%2FS3CRET%20%C3%A9, lower reg%2fS3CRET%20%c3%a9, short abc");

        Assert.Equal("raw ***, encoded ***, lower ***, short abc", redacted);
    }

    [Fact]
    public void Register_PercentEncodedSecret_IsAlsoReplacedDecoded()
    {
        Redact.Register("enc%2FPASSWORD");

        Assert.Equal("libgit2 said *** and ***", Redact.Url("libgit2 said enc/PASSWORD and enc%2FPASSWORD"));
    }

    [Fact]
    public async Task Register_FromManyThreads_KeepsEverySecret()
    {
        var secrets = Enumerable.Range(0, 64).Select(i => $"threaded-secret-{i:D3}").ToList();

        await Task.WhenAll(secrets.Select(s => Task.Run(() => Redact.Register(s))));

        Assert.All(secrets, s => Assert.Equal("[***]", Redact.Text($"[{s}]")));
    }

    [Fact]
    public void Url_PasswordWithRawWhitespace_IsHiddenOnceTheSettingIsRead()
    {
        const string Url = "https://user:pass word-ws@git.example.com/repo.git";
        var errors = new List<string>();

        var accepted = UrlCredentials.Check(Reader(errors), "url", Url);

        Assert.False(accepted);
        Assert.Equal($"source.url: {UrlCredentials.NeedsEncoding}", Assert.Single(errors));
        Assert.DoesNotContain("word-ws", Redact.Url($"cannot reach {Url}: timeout"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(20260101)]
    [InlineData(0)]
    public void Url_RandomHostilePasswordsInRandomText_NeverAppear(int fixedSeed)
    {
        var seed = fixedSeed != 0 ? fixedSeed : Random.Shared.Next(1, int.MaxValue);
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        int accepted = 0, refused = 0;
        for (var i = 0; i < 400; i++)
        {
            var passwords = Enumerable.Range(0, random.Next(1, 4)).Select(_ => Password(random)).ToList();
            var urls = passwords.Select((p, n) => $"https://user{n}:{p}@host{i}-{n}.example{(random.Next(2) == 0 ? ":8443" : string.Empty)}/repo.git{(random.Next(3) == 0 ? "?ref=main" : string.Empty)}").ToList();
            var text = new StringBuilder(Words(random));
            foreach (var url in urls)
            {
                text.Append(' ').Append(url).Append(random.Next(4) switch { 0 => ".", 1 => ",", 2 => ":", _ => string.Empty }).Append(' ').Append(Words(random));
            }

            var line = text.ToString();
            var before = Redact.Url(line);
            for (var n = 0; n < urls.Count; n++)
            {
                var errors = new List<string>();
                var ok = UrlCredentials.Check(Reader(errors), "url", urls[n]);
                var context = $"seed {seed}, case {i}, password '{passwords[n]}', text '{line}'";
                if (ok)
                {
                    // The parser alone (before the setting registered it) already hides it, and shows the host.
                    accepted++;
                    Assert.True(!before.Contains(passwords[n], StringComparison.Ordinal), $"{context}: '{before}'");
                    Assert.True(before.Contains($"host{i}-{n}.example", StringComparison.Ordinal), $"{context}: '{before}'");
                }
                else
                {
                    refused++;
                    Assert.True(errors.Count == 1 && !errors[0].Contains(passwords[n], StringComparison.Ordinal), $"{context}: {string.Join("; ", errors)}");
                }
            }

            var after = Redact.Url(line);
            Assert.All(passwords, p => Assert.True(!after.Contains(p, StringComparison.Ordinal), $"seed {seed}, case {i}, password '{p}': '{after}'"));
        }

        output.WriteLine($"{accepted} accepted, {refused} refused");
        Assert.True(accepted > 50 && refused > 50, $"{accepted} accepted, {refused} refused");
    }

    /// <summary>6 to 16 characters, at least one of them hostile or not ASCII, so it cannot occur in the text by chance.</summary>
    private static string Password(Random random)
    {
        var password = new StringBuilder();
        var length = random.Next(6, 17);
        while (password.Length < length)
        {
            password.Append(random.Next(3) switch
            {
                0 => HostileAlphabet[random.Next(HostileAlphabet.Length)].ToString(),
                1 => Unicode[random.Next(Unicode.Length)],
                _ => ((char)random.Next('0', 'z' + 1)).ToString(),
            });
        }

        var hostile = random.Next(2) == 0 ? HostileAlphabet[random.Next(HostileAlphabet.Length)].ToString() : Unicode[random.Next(Unicode.Length)];
        return password.Insert(random.Next(password.Length + 1), hostile).ToString();
    }

    private static string Words(Random random) =>
        string.Join(' ', Enumerable.Range(0, random.Next(0, 5)).Select(_ => random.Next(6) switch
        {
            0 => "fetch",
            1 => "failed:",
            2 => "(retrying)",
            3 => "remote",
            4 => "error",
            _ => "at",
        }));

    private static SettingsReader Reader(List<string> errors) =>
        new(new ConfigurationBuilder().Build(), "source", errors);
}
