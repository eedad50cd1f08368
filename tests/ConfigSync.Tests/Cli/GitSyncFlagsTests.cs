using System.Collections;
using ConfigSync.Cli;

namespace ConfigSync.Tests.Cli;

/// <summary>The git-sync drop-in's reading of git-sync v4 flags and variables, and what they become.</summary>
public sealed class GitSyncFlagsTests
{
    private static readonly Hashtable NoEnvironment = [];

    [Theory]
    [InlineData(new[] { "--repo=x" }, true)]
    [InlineData(new[] { "-v", "2" }, true)]
    [InlineData(new[] { "run", "--config", "c.yaml" }, false)]
    [InlineData(new[] { "--help" }, false)]
    [InlineData(new[] { "--version" }, false)]
    public void Applies_ToFlagsFirst_NotToConfigSyncCommands(string[] args, bool expected) =>
        Assert.Equal(expected, GitSyncFlags.Applies(args, NoEnvironment));

    [Fact]
    public void Applies_WithoutArguments_OnlyWhenAGitSyncVariableIsSet()
    {
        Assert.False(GitSyncFlags.Applies([], NoEnvironment));
        Assert.True(GitSyncFlags.Applies([], new Hashtable { ["GITSYNC_REPO"] = "x" }));
        Assert.True(GitSyncFlags.Applies([], new Hashtable { ["GIT_SYNC_REPO"] = "x" }));
    }

    [Fact]
    public void Translate_Defaults_AreGitSyncs()
    {
        var t = Translate(["--repo", "https://git.example.com/acme/config", "--root=/git"]);

        Assert.Empty(t.Errors);
        Assert.False(t.OneTime);
        Assert.Equal("/git", t.Configuration["syncs:0:target:root"]);
        Assert.Equal("config", t.Configuration["syncs:0:target:link"]);
        Assert.Equal("10s", t.Configuration["syncs:0:interval"]);
        Assert.Equal("0", t.Configuration["syncs:0:jitter"]);
        Assert.Equal("120s", t.Configuration["syncs:0:timeout"]);
        Assert.Equal("1", t.Configuration["syncs:0:source:depth"]);
        Assert.Equal("recursive", t.Configuration["syncs:0:source:submodules"]);
        Assert.Equal("1", t.Configuration["syncs:0:maxFailures"]);
        Assert.Equal("off", t.Configuration["http:listen"]);
        Assert.False(t.Configuration.ContainsKey("syncs:0:source:ref"));
        Assert.False(t.Configuration.ContainsKey("syncs:0:source:auth:sshKeyFile"));
    }

    [Theory]
    [InlineData("-1", "0")]
    [InlineData("0", "1")]
    [InlineData("1", "1")]
    [InlineData("5", "5")]
    public void Translate_MaxFailures_ExitsWhereGitSyncWould(string flag, string expected) =>
        Assert.Equal(expected, Translate(["--repo=r", "--root=/g", "--max-failures", flag]).Configuration["syncs:0:maxFailures"]);

    [Fact]
    public void Translate_LinkWithFolders_PutsTheTargetRootBesideTheLink()
    {
        var relative = Translate(["--repo=r", "--root=/git", "--link=sub/dir/live"]);
        var absolute = Translate(["--repo=r", "--root=/git", "--link=/elsewhere/live"]);

        Assert.Equal("/git/sub/dir", relative.Configuration["syncs:0:target:root"]);
        Assert.Equal("live", relative.Configuration["syncs:0:target:link"]);
        Assert.Equal("/elsewhere", absolute.Configuration["syncs:0:target:root"]);
        Assert.Equal("live", absolute.Configuration["syncs:0:target:link"]);
    }

    [Fact]
    public void Translate_Hooks_CarryTheHashAsGitSyncDoes()
    {
        var t = Translate(["--repo=r", "--root=/git", "--webhook-url=http://127.0.0.1:9/hook", "--webhook-method=PUT", "--webhook-success-status=-1", "--exechook-command=/bin/reload", "--touch-file=t", "--error-file=/var/err", "--http-bind=:8082", "--one-time", "--group-write=false"]);

        Assert.Empty(t.Errors);
        Assert.True(t.OneTime);
        Assert.Equal("{revision}", t.Configuration["syncs:0:signal:headers:Gitsync-Hash"]);
        Assert.Equal("PUT", t.Configuration["syncs:0:signal:method"]);
        Assert.Equal("0", t.Configuration["syncs:0:signal:successStatus:0"]);
        Assert.Equal("1s", t.Configuration["syncs:0:signal:timeout"]);
        Assert.Equal("/bin/reload", t.Configuration["syncs:0:signal:exec:command:0"]);
        Assert.Equal("{revision}", t.Configuration["syncs:0:signal:exec:env:GITSYNC_HASH"]);
        Assert.Equal("tree", t.Configuration["syncs:0:signal:exec:workingDirectory"]);
        Assert.Equal("/git/t", t.Configuration["syncs:0:touchFile"]);
        Assert.Equal("/var/err", t.Configuration["syncs:0:errorFile"]);
        Assert.Equal("0.0.0.0:8082", t.Configuration["http:listen"]);
        Assert.False(t.Configuration.ContainsKey("syncs:0:target:groupWrite"));
    }

    [Fact]
    public void Translate_Environment_FlagWinsOverGitSyncVariable_WhichWinsOverV3Name()
    {
        var environment = new Hashtable { ["GITSYNC_REPO"] = "from-env", ["GITSYNC_ROOT"] = "/env-root", ["GITSYNC_PERIOD"] = "30s", ["GIT_SYNC_PERIOD"] = "99s", ["GITSYNC_ONE_TIME"] = "true" };

        var t = GitSyncFlags.Translate(["--root=/flag-root"], environment);

        Assert.Empty(t.Errors);
        Assert.True(t.OneTime);
        Assert.Equal("from-env", t.Configuration["syncs:0:source:url"]);
        Assert.Equal("/flag-root", t.Configuration["syncs:0:target:root"]);
        Assert.Equal("30s", t.Configuration["syncs:0:interval"]);
    }

    [Fact]
    public void Translate_DeprecatedV3Flags_MapAsGitSyncV4MapsThem()
    {
        var t = Translate(["--repo=r", "--root=/git", "--branch=release", "--wait=1.5", "--timeout=60", "--dest=live", "--sync-hook-command=/bin/hook"]);

        Assert.Empty(t.Errors);
        Assert.Equal("release", t.Configuration["syncs:0:source:ref"]);
        Assert.Equal("1.5s", t.Configuration["syncs:0:interval"]);
        Assert.Equal("60s", t.Configuration["syncs:0:timeout"]);
        Assert.Equal("live", t.Configuration["syncs:0:target:link"]);
        Assert.Equal("/bin/hook", t.Configuration["syncs:0:signal:exec:command:0"]);
    }

    [Fact]
    public void Translate_Credentials_FromFileOrVariable_SshDefaultsOnlyForSshUrls()
    {
        var https = GitSyncFlags.Translate(["--repo=https://h/r", "--root=/g", "--username=bot"], new Hashtable { ["GITSYNC_PASSWORD"] = "s3cret" });
        var ssh = Translate(["--repo=git@github.com:acme/config.git", "--root=/g"]);
        var sshNoHosts = Translate(["--repo=ssh://git@h/r", "--root=/g", "--ssh-key-file=/k", "--ssh-known-hosts=false"]);

        Assert.Empty(https.Errors);
        Assert.Equal("bot", https.Configuration["syncs:0:source:auth:username"]);
        Assert.Equal("GITSYNC_PASSWORD", https.Configuration["syncs:0:source:auth:passwordEnv"]);
        Assert.DoesNotContain("s3cret", string.Join(" ", https.Configuration.Values));
        Assert.Equal("config.git", ssh.Configuration["syncs:0:target:link"]);
        Assert.Equal("/etc/git-secret/ssh", ssh.Configuration["syncs:0:source:auth:sshKeyFile"]);
        Assert.Equal("/etc/git-secret/known_hosts", ssh.Configuration["syncs:0:source:auth:knownHostsFile"]);
        Assert.Equal("/k", sshNoHosts.Configuration["syncs:0:source:auth:sshKeyFile"]);
        Assert.Equal("false", sshNoHosts.Configuration["syncs:0:source:auth:strictHostKeyChecking"]);
    }

    [Fact]
    public void Translate_UnsupportedAndUnknown_AreNamedErrors_FromFlagsAndVariables()
    {
        var t = GitSyncFlags.Translate(
            ["--repo=r", "--root=/g", "--git-gc=off", "--password", "p", "--frobnicate", "--submodules=shallow", "--username=u", "--depth=many", "positional"],
            new Hashtable { ["GITSYNC_SPARSE_CHECKOUT_FILE"] = "/s" });

        Assert.Contains(t.Errors, e => e.StartsWith("--git-gc: the git-sync flag is not supported", StringComparison.Ordinal));
        Assert.Contains(t.Errors, e => e.StartsWith("--password: the git-sync flag is not supported by ConfigSync: secrets are never taken from the command line", StringComparison.Ordinal));
        Assert.Contains(t.Errors, e => e.StartsWith("--frobnicate: is not a git-sync v4 flag", StringComparison.Ordinal));
        Assert.Contains(t.Errors, e => e.StartsWith("--submodules: 'shallow' is not supported", StringComparison.Ordinal));
        Assert.Contains(t.Errors, e => e.StartsWith("--username: required flag: $GITSYNC_PASSWORD or --password-file", StringComparison.Ordinal));
        Assert.Contains(t.Errors, e => e == "--depth: 'many' is not a whole number");
        Assert.Contains(t.Errors, e => e == "'positional': git-sync takes flags only, no arguments");
        Assert.Contains(t.Errors, e => e.StartsWith("environment variable GITSYNC_SPARSE_CHECKOUT_FILE: the git-sync flag is not supported", StringComparison.Ordinal));
        Assert.DoesNotContain(t.Errors, e => e.Contains("\"p\"", StringComparison.Ordinal) || e.Contains(" p ", StringComparison.Ordinal));
    }

    [Fact]
    public void Translate_MissingRootAndRepo_NamedAsGitSyncNamesThem()
    {
        var t = Translate(["--period=5s"]);

        Assert.Equal(["--root: required flag: --root must be specified", "--repo: required flag: --repo must be specified"], t.Errors);
    }

    [Fact]
    public void ToFlags_NamesLoaderErrorsByTheFlag()
    {
        Assert.Equal("--period: '1ms' is too short; the minimum is 100ms", GitSyncFlags.ToFlags("syncs[0].interval: '1ms' is too short; the minimum is 100ms"));
        Assert.Equal("log.level: x", GitSyncFlags.ToFlags("log.level: x"));
    }

    private static GitSyncTranslation Translate(string[] args) => GitSyncFlags.Translate(args, NoEnvironment);
}
