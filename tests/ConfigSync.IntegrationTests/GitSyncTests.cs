using System.Net;
using ConfigSync.IntegrationTests.Support;
using ConfigSync.Tests.TestSupport;

namespace ConfigSync.IntegrationTests;

/// <summary>
/// The git-sync v4 drop-in, run as a pod would run git-sync: the daemon process started with git-sync's
/// flags or GITSYNC_* variables only, a git repository over file://, and an HTTP listener as the app.
/// </summary>
public sealed class GitSyncTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly Scenario _scenario = new();
    private readonly AppListener _app = new();
    private readonly WorkRepo _repo;

    public GitSyncTests()
    {
        _repo = new WorkRepo(_scenario.Temp.Path);
        _repo.Commit("app.yaml", "v: 1", "one");
    }

    private string GitRoot => _scenario.Temp.Combine("git");

    public void Dispose()
    {
        _app.Dispose();
        _scenario.Dispose();
    }

    [Fact]
    public async Task Flags_RootIs503UntilTheFirstSync_LinkAndWebhookAreGitSyncs_ErrorFileComesAndGoes()
    {
        using var http = new DaemonHttp(_scenario.Port);
        await using var daemon = Daemon.Start(
        [
            "--repo", _repo.FileUrl, "--ref=release", "--root", GitRoot, "--link=current", "--period=200ms", "--max-failures=-1",
            $"--webhook-url={_app.Url}", $"--http-bind=127.0.0.1:{_scenario.Port}", "--http-metrics", "--touch-file=synced", "--error-file=.error",
        ]);

        // The tracked branch does not exist yet: every sync fails, and / says so.
        await DaemonHttp.Eventually(() => Task.FromResult(File.Exists(Path.Combine(GitRoot, ".error"))), Patience, () => "no error file; output:\n" + daemon.Output);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await http.StatusOfAsync("/"));
        Assert.Contains("\"Err\":", File.ReadAllText(Path.Combine(GitRoot, ".error")), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(GitRoot, "synced")));

        var first = _repo.Commit("app.yaml", "v: 2", "two", branch: "release");
        var signal = await _app.WaitForAsync(r => r.GitsyncHash == first, Patience);
        Assert.Equal("POST", signal.Method);
        Assert.Equal(HttpStatusCode.OK, await http.StatusOfAsync("/"));
        Assert.Equal("v: 2", File.ReadAllText(Path.Combine(GitRoot, "current", "app.yaml")));
        var link = new FileInfo(Path.Combine(GitRoot, "current")).LinkTarget!;
        Assert.False(Path.IsPathRooted(link), $"the link is relative, as git-sync's is: {link}");
        Assert.False(File.Exists(Path.Combine(GitRoot, ".error")));
        Assert.True(File.Exists(Path.Combine(GitRoot, "synced")));

        var second = _repo.Commit("app.yaml", "v: 3", "three", branch: "release");
        await _app.WaitForAsync(r => r.GitsyncHash == second, Patience);
        Assert.Equal("v: 3", File.ReadAllText(Path.Combine(GitRoot, "current", "app.yaml")));
        Assert.Contains("configsync_revision_info{sync=\"git-sync\"", await http.GetStringAsync("/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Variables_OneTime_LinkDefaultsToTheRepoName_ExecHookRunsInTheTreeWithGitsyncHash_ThenExitsZero()
    {
        var marker = _scenario.Temp.Combine("hook-ran");
        var hook = _scenario.Temp.Combine("hook.sh");
        File.WriteAllText(hook, $"#!/bin/sh\necho \"$GITSYNC_HASH $(cat app.yaml)\" > {marker}\n");
        File.SetUnixFileMode(hook, (UnixFileMode)0x1ED);
        var head = WorkRepo.Git(_repo.Work, "rev-parse", "HEAD");

        var (code, output) = await Daemon.RunAsync([], new Dictionary<string, string>
        {
            ["GITSYNC_REPO"] = _repo.FileUrl,
            ["GITSYNC_ROOT"] = GitRoot,
            ["GITSYNC_ONE_TIME"] = "true",
            ["GITSYNC_EXECHOOK_COMMAND"] = hook,
        });

        Assert.True(code == 0, output);
        Assert.Equal("v: 1", File.ReadAllText(Path.Combine(GitRoot, "repo.git", "app.yaml")));
        Assert.Equal($"{head} v: 1", File.ReadAllText(marker).Trim());
    }

    [Fact]
    public async Task UnsupportedFlagsAndVariables_AreNamedErrors_Exit2_AndNothingIsWritten()
    {
        var (code, output) = await Daemon.RunAsync(
            ["--repo", _repo.FileUrl, "--root", GitRoot, "--git-gc=aggressive", "--password", "hunter2-secret"],
            new Dictionary<string, string> { ["GITSYNC_SPARSE_CHECKOUT_FILE"] = "/etc/sparse" });

        Assert.Equal(2, code);
        Assert.Contains("--git-gc: the git-sync flag is not supported by ConfigSync", output, StringComparison.Ordinal);
        Assert.Contains("--password: the git-sync flag is not supported by ConfigSync", output, StringComparison.Ordinal);
        Assert.Contains("environment variable GITSYNC_SPARSE_CHECKOUT_FILE:", output, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2-secret", output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(GitRoot));
    }

    [Fact]
    public async Task DefaultMaxFailures_TheFirstFailedSyncExits1_AsGitSyncDoes()
    {
        var (code, output) = await Daemon.RunAsync(["--repo", "file://" + _scenario.Temp.Combine("missing.git"), "--root", GitRoot, "--error-file=err"]);

        Assert.True(code == 1, output);
        Assert.Contains("maxFailures", output, StringComparison.Ordinal);
        Assert.Contains("missing.git", File.ReadAllText(Path.Combine(GitRoot, "err")), StringComparison.Ordinal);
    }
}
