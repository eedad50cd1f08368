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
}
