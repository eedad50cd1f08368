using ConfigSync.IntegrationTests.Support;

namespace ConfigSync.IntegrationTests;

/// <summary>The hardening promises through the executable the image ships: a tampered volume, a hostile commit, private state.</summary>
public sealed class HostileVolumeDaemonTests : IDisposable
{
    private readonly Scenario _scenario = new();

    public void Dispose() => _scenario.Dispose();

    [Theory]
    [InlineData(".configsync/staging")]
    [InlineData(".configsync/trees")]
    [InlineData(".configsync/manifests")]
    [InlineData(".configsync")]
    public async Task Once_StateFolderReplacedByALink_Exits1NamingIt_AndDeletesNothingThroughIt(string folder)
    {
        Directory.CreateDirectory(_scenario.Source);
        File.WriteAllText(Path.Combine(_scenario.Source, "a.yaml"), "a: 1");
        var config = _scenario.WriteSourceConfig("type: dir\npath: source");
        var first = await Daemon.RunAsync(["once", "--config", config]);
        Assert.True(first.ExitCode == 0, first.Output);

        // The victim: a folder outside the root, holding what an attacker wants gone.
        var victim = _scenario.Temp.Combine("victim");
        Directory.CreateDirectory(Path.Combine(victim, "inner"));
        File.WriteAllText(Path.Combine(victim, "precious.txt"), "keep");
        File.WriteAllText(Path.Combine(victim, "inner", "also.txt"), "keep");
        var state = Path.Combine(_scenario.Root, folder);
        Directory.Move(state, state + ".moved");
        File.CreateSymbolicLink(state, victim);

        var (code, output) = await Daemon.RunAsync(["once", "--config", config]);

        Assert.True(code == 1, $"exit {code}\n{output}");
        Assert.Contains($"'{state}' is a symbolic link", output);
        Assert.Equal("keep", File.ReadAllText(Path.Combine(victim, "precious.txt")));
        Assert.Equal("keep", File.ReadAllText(Path.Combine(victim, "inner", "also.txt")));
        Assert.Equal(["inner", "precious.txt"], Directory.EnumerateFileSystemEntries(victim).Select(Path.GetFileName).Order());
    }

    [Fact]
    public async Task Once_GitCommitWithALinkChainThroughTheTreesRoot_IsRefusedNamingTheLink_AndTheCacheIsPrivate()
    {
        Directory.CreateDirectory(_scenario.Temp.Combine("git"));
        var repo = new WorkRepo(_scenario.Temp.Combine("git"));
        repo.Commit("good.yaml", "ok: 1", "first");
        var deep = Path.Combine(repo.Work, "1", "2", "3", "4", "5", "6");
        Directory.CreateDirectory(deep);
        File.CreateSymbolicLink(Path.Combine(deep, "x"), "../../../../../..");
        File.CreateSymbolicLink(Path.Combine(deep, "y"), "x/../../../../../../../etc/passwd");
        var stateDir = _scenario.Temp.Combine("private-state");
        File.WriteAllText(_scenario.ConfigFile, $$"""
            http: { listen: "127.0.0.1:{{_scenario.Port}}" }
            stateDir: {{stateDir}}
            syncs:
              - name: app
                source: { type: git, url: "{{repo.FileUrl}}", ref: main }
                target: { root: volume }
            """);
        var good = await Daemon.RunAsync(["once", "--config", _scenario.ConfigFile]);
        Assert.True(good.ExitCode == 0, good.Output);
        repo.Commit("other.yaml", "ok: 2", "links");

        var (code, output) = await Daemon.RunAsync(["once", "--config", _scenario.ConfigFile]);

        Assert.True(code == 1, $"exit {code}\n{output}");
        Assert.Contains("'1/2/3/4/5/6/y' is a symbolic link to 'x/../../../../../../../etc/passwd', which leads outside the tree", output);
        Assert.Equal("ok: 1", File.ReadAllText(Path.Combine(_scenario.Live, "good.yaml")));
        Assert.False(File.Exists(Path.Combine(_scenario.Live, "other.yaml")));

        // The git objects (every path of the repository, published or not) live in stateDir, owner-only; nothing on the shared volume.
        Assert.False(Directory.Exists(Path.Combine(_scenario.Root, ".configsync", "cache")));
        var syncState = Assert.Single(Directory.GetDirectories(stateDir));
        Assert.StartsWith("app-", Path.GetFileName(syncState));
        Assert.True(Directory.Exists(Path.Combine(syncState, "repo.git")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(syncState));
    }

    [Fact]
    public async Task Once_KubeletLayout_SourceNamesTheLayoutKeeps_AreRefusedByName_AndNothingIsRemovedAtRestart()
    {
        Directory.CreateDirectory(Path.Combine(_scenario.Source, "..1x"));
        File.WriteAllText(Path.Combine(_scenario.Source, "..1x", "a.yaml"), "a: 1");
        File.WriteAllText(Path.Combine(_scenario.Source, "b.yaml"), "b: 1");
        var config = _scenario.WriteSourceConfig("type: dir\npath: source", target: "layout: kubelet");

        var (code, output) = await Daemon.RunAsync(["once", "--config", config]);

        Assert.True(code == 1, $"exit {code}\n{output}");
        Assert.Contains("'..1x/a.yaml' uses the name '..1x', which layout kubelet keeps", output);

        // Names that look like the layout's own but are someone else's are never cleaned up at start.
        Directory.Delete(Path.Combine(_scenario.Source, "..1x"), recursive: true);
        File.WriteAllText(Path.Combine(_scenario.Root, ".data.configsync-tmp-abc"), "not ConfigSync's");
        Directory.CreateDirectory(Path.Combine(_scenario.Root, "..2020_01_01_00_00_00.0000000"));
        var again = await Daemon.RunAsync(["once", "--config", config]);
        Assert.True(again.ExitCode == 0, again.Output);
        var restart = await Daemon.RunAsync(["once", "--config", config]);
        Assert.True(restart.ExitCode == 0, restart.Output);
        Assert.True(File.Exists(Path.Combine(_scenario.Root, ".data.configsync-tmp-abc")));
        Assert.True(Directory.Exists(Path.Combine(_scenario.Root, "..2020_01_01_00_00_00.0000000")));
        Assert.Equal("b: 1", File.ReadAllText(Path.Combine(_scenario.Root, "b.yaml")));
    }
}
