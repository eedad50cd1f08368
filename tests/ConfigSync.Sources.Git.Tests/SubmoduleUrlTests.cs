namespace ConfigSync.Sources.Git.Tests;

/// <summary>
/// Submodule URLs a repository names: relative ones resolved on the path only, and which of them may be given the
/// source's credentials (see GitTransportTests for the same against real servers and a credential trap).
/// </summary>
public sealed class SubmoduleUrlTests
{
    [Theory]
    [InlineData("https://git.example.com/acme/app.git", "../lib.git", "https://git.example.com/acme/lib.git")]
    [InlineData("https://git.example.com/acme/app.git/", "./lib.git", "https://git.example.com/acme/app.git/lib.git")]
    [InlineData("git@github.com:acme/app.git", "../lib.git", "git@github.com:acme/lib.git")]
    [InlineData("git@github.com:app.git", "../lib.git", "git@github.com:lib.git")]
    [InlineData("/srv/repos/app.git", "../lib.git", "/srv/repos/lib.git")]
    [InlineData("file:///srv/repos/app.git", "../lib.git", "file:///srv/repos/lib.git")]
    [InlineData("https://token:x-oauth-basic@github.com/o/r.git", "../lib.git", "https://github.com/o/lib.git")] // the source's user and password stay the source's
    [InlineData("ssh://git@git.example.com:2222/org/app.git", "../lib.git", "ssh://git@git.example.com:2222/org/lib.git")] // the ssh user is the account
    [InlineData("https://github.com/o/r.git", "../../evil.example/x.git", "https://github.com/evil.example/x.git")] // the path, never the host
    [InlineData("https://github.com/o/r.git", "../../@evil.example/x.git", "https://github.com/@evil.example/x.git")]
    public void RelativeSubmoduleUrls_ResolveLikeGit(string baseUrl, string relative, string expected) =>
        Assert.Equal(expected, TreeWalker.Relative(baseUrl, relative));

    [Theory]
    [InlineData("https://user:pass@git.example.com:8443/org/repo.git", "../../../@evil.example/x")]
    [InlineData("https://github.com/o/r.git", "../../../evil.example/x")]
    [InlineData("git@github.com:o/r.git", "../../../x")]
    public void RelativeSubmoduleUrls_ThatClimbAboveTheRoot_AreRefusedByName(string baseUrl, string relative)
    {
        var error = Assert.Throws<SourceException>(() => TreeWalker.Relative(baseUrl, relative));
        Assert.Contains($"submodule url '{relative}' climbs above the root of", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("pass@", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://github.com/o/lib.git", "https://github.com/o/r.git", true)]
    [InlineData("HTTPS://GitHub.com/o/lib.git", "https://github.com/o/r.git", true)]
    [InlineData("https://github.com/o/lib.git", "https://token:x@github.com/o/r.git", true)]
    [InlineData("https://github.com%2f@evil.example/x", "https://github.com/o/r.git", false)]
    [InlineData("https://github.com:443%2f@evil.example/x", "https://github.com/o/r.git", false)]
    [InlineData("https://user@github.com/o/lib.git", "https://github.com/o/r.git", false)]
    [InlineData("https://github.com\\@evil.example/x", "https://github.com/o/r.git", false)]
    [InlineData("https://evil.example/github.com/x", "https://github.com/o/r.git", false)]
    [InlineData("https://github.com.evil.example/x", "https://github.com/o/r.git", false)]
    [InlineData("http://github.com/o/lib.git", "https://github.com/o/r.git", false)]
    [InlineData("https://github.com:8443/o/lib.git", "https://github.com/o/r.git", false)]
    [InlineData("git@github.com:o/lib.git", "https://github.com/o/r.git", false)]
    [InlineData("https://git hub.com/o/lib.git", "https://git hub.com/o/r.git", false)]
    public void SubmoduleUrls_GetTheSourcesCredentials_OnlyOnItsOrigin_ReadAsLibgit2ReadsThem(string submodule, string source, bool expected) =>
        Assert.Equal(expected, GitCredentials.MayReceive(submodule, source));

    [Theory]
    [InlineData("https://github.com/a/b.git", "https://github.com/c/d.git", true)]
    [InlineData("https://github.com/a/b.git", "https://GitHub.com:443/c/d", true)]
    [InlineData("https://user:pw@github.com/a/b.git", "https://github.com/c/d.git", true)]
    [InlineData("https://github.com/a/b.git", "http://github.com/a/b.git", false)]
    [InlineData("https://github.com/a/b.git", "https://github.com:8443/a/b.git", false)]
    [InlineData("https://github.com/a/b.git", "https://github.com.evil.example/a/b.git", false)]
    [InlineData("https://github.com/a/b.git", "https://evil.example/github.com/a/b.git", false)]
    [InlineData("https://github.com/a/b.git", "https://github.com@evil.example/a/b.git", false)]
    [InlineData("git@github.com:a/b.git", "https://github.com/a/b.git", false)]
    [InlineData("https://github.com/a/b.git", "not a url", false)]
    public void Credentials_BelongToOneOrigin(string source, string asking, bool same) =>
        Assert.Equal(same, GitCredentials.SameOrigin(asking, source));

    /// <summary>
    /// 5,000 submodule URLs made from parts a hostile .gitmodules could use (scheme, user, host, port, what follows): the
    /// credentials go only to one that names the source's scheme, host and port plainly, the expectation computed from the
    /// parts chosen, not from the code under test.
    /// </summary>
    [Fact]
    public void GeneratedSubmoduleUrls_GetTheSourcesCredentials_OnlyWhenTheyNameItsOriginPlainly()
    {
        var random = new Random(20261201);
        string[] schemes = ["https", "HTTPS", "Https", "http", "ssh", "git", "file"];
        string[] users = ["", "u@", "u:p@", "github.com%2f@", "github.com%2F@", "github.com:443%2f@", "x\\@", "%40@", "github.com@", "@"];
        string[] hosts = ["github.com", "evil.example", "github.com.evil.example", "githubXcom", "gith%75b.com", "github.com\\", "github.com.", "github.com evil"];
        string[] ports = ["", ":443", ":8443", ":0443", "%3a443", ":"];
        string[] tails = ["/o/lib.git", "", "/@evil.example/x", "?x", "#y", "/../x", "\\@evil.example/x", "@evil.example/x"];
        foreach (var source in new[] { "https://github.com/o/r.git", "https://tok:secret@github.com/o/r.git" })
        {
            for (var round = 0; round < 2500; round++)
            {
                var (scheme, user, host, port, tail) = (Pick(random, schemes), Pick(random, users), Pick(random, hosts), Pick(random, ports), Pick(random, tails));
                var mixed = new string([.. host.Select(c => random.Next(2) == 0 ? char.ToUpperInvariant(c) : c)]); // hosts are case-blind
                var url = $"{scheme}://{user}{mixed}{port}{tail}";
                var expected = scheme.Equals("https", StringComparison.OrdinalIgnoreCase) && user.Length == 0 && host == "github.com" && port.Length == 0
                    && (tail.Length == 0 || tail[0] == '/');

                Assert.True(expected == GitCredentials.MayReceive(url, source), $"{url} against {source}: expected {expected}");
            }
        }
    }

    /// <summary>
    /// 5,000 relative submodule URLs of random climbs and hostile segments against sources with and without a password:
    /// each resolves on the source's own host (as libgit2 would split the result) without the password, or is refused
    /// by name for climbing above the root.
    /// </summary>
    [Fact]
    public void GeneratedRelativeUrls_StayOnTheSourcesHost_AndNeverCarryItsPassword()
    {
        var random = new Random(1201);
        string[] bases = ["https://user:s3cret@git.example.com:8443/org/repo.git", "https://git.example.com/a/b/c.git/", "ssh://git@git.example.com/org/repo.git", "git@git.example.com:org/repo.git"];
        string[] steps = ["./", "../"];
        string[] segments = ["lib.git", "@evil.example", "evil.example:22", "..", "%2f@evil", "x", ":", "@", "s3cret@evil", "\\@evil"];
        for (var round = 0; round < 5000; round++)
        {
            var source = Pick(random, bases);
            var relative = string.Concat(Enumerable.Range(0, random.Next(1, 6)).Select(_ => Pick(random, steps)))
                + string.Join('/', Enumerable.Range(0, random.Next(1, 4)).Select(_ => Pick(random, segments)));
            string resolved;
            try
            {
                resolved = TreeWalker.Relative(source, relative);
            }
            catch (SourceException e)
            {
                Assert.Contains($"submodule url '{relative}' climbs above the root of", e.Message, StringComparison.Ordinal);
                Assert.DoesNotContain("s3cret", e.Message.Replace($"'{relative}'", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
                continue;
            }

            // Over http(s) the host and port alone; an ssh:// user stays (the account, not a secret).
            var host = GitUrl.Split(source) is { } split ? (source.StartsWith("https", StringComparison.Ordinal) ? GitUrl.HostAndPort(split.Authority) : split.Authority) : null;
            if (host is null)
            {
                Assert.StartsWith("git@git.example.com:", resolved, StringComparison.Ordinal); // scp-like: the host is before the first ':'
            }
            else
            {
                Assert.Equal(host, GitUrl.Split(resolved)!.Value.Authority); // the user and password gone, the host the source's
            }

            Assert.DoesNotContain("user:s3cret", resolved, StringComparison.Ordinal);
        }
    }

    private static string Pick(Random random, string[] choices) => choices[random.Next(choices.Length)];
}
