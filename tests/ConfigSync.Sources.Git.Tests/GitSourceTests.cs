using ConfigSync.Publishing;
using ConfigSync.Sources.Git.Tests.TestSupport;
using Microsoft.Extensions.Configuration;

namespace ConfigSync.Sources.Git.Tests;

/// <summary>The git source over file:// against real repositories made with the git CLI.</summary>
public sealed class GitSourceTests : IDisposable
{
    private static readonly ISourceFactory Factory = new GitSourceFactory();
    private readonly TempFolder _temp = new();
    private readonly GitRepo _repo;

    public GitSourceTests()
    {
        _repo = new GitRepo(_temp.Path);
    }

    private string Root => _temp.Combine("volume");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task FirstSync_PublishesTheCommitsTree_WithExecBitSymlinksAndDetails()
    {
        _repo.Write("app.yaml", "port: 1");
        _repo.Write("bin/reload.sh", "#!/bin/sh", executable: true);
        _repo.Symlink("current.yaml", "app.yaml");
        var sha = _repo.Commit("first config");
        await using var git = Harness();

        var manifest = await git.SyncAsync();

        Assert.Equal(sha, manifest!.Revision);
        Assert.Equal("port: 1", git.Read("app.yaml"));
        Assert.Equal("0755", ManifestFile.FormatMode(File.GetUnixFileMode(Path.Combine(git.Live, "bin", "reload.sh"))));
        Assert.Equal("0644", ManifestFile.FormatMode(File.GetUnixFileMode(Path.Combine(git.Live, "app.yaml"))));
        Assert.Equal("app.yaml", new FileInfo(Path.Combine(git.Live, "current.yaml")).LinkTarget);
        Assert.Equal("first config", manifest.Details["subject"]);
        Assert.Equal("Test Author", manifest.Details["author"]);
        Assert.False(Directory.Exists(Path.Combine(git.Live, ".git")));
    }

    [Fact]
    public async Task UnchangedRemote_PollReportsNoChange()
    {
        _repo.Write("a", "1");
        _repo.Commit("one");
        await using var git = Harness();
        await git.SyncAsync();

        Assert.Null(await git.PollAsync());
    }

    [Fact]
    public async Task NewCommit_IsPublished_ReusingUnchangedBlobs_AndDeletedFilesDisappear()
    {
        _repo.Write("same.yaml", "same");
        _repo.Write("gone.yaml", "bye");
        _repo.Write("changes.yaml", "v1");
        _repo.Commit("one");
        await using var git = Harness();
        var first = await git.SyncAsync();

        _repo.Write("changes.yaml", "v2");
        _repo.Delete("gone.yaml");
        var sha = _repo.Commit("two");
        var second = await git.SyncAsync();

        Assert.Equal(sha, second!.Revision);
        Assert.Equal("v2", git.Read("changes.yaml"));
        Assert.False(File.Exists(Path.Combine(git.Live, "gone.yaml")));
        Assert.Equal(Inode(Path.Combine(Root, ".configsync", "trees", first!.Tree, "same.yaml")), Inode(Path.Combine(git.Live, "same.yaml")));
    }

    [Fact]
    public async Task Path_PublishesOnlyTheSubdirectory()
    {
        _repo.Write("env/prod/app.yaml", "prod");
        _repo.Write("env/dev/app.yaml", "dev");
        _repo.Write("README.md", "x");
        _repo.Commit("envs");
        await using var git = Harness(("path", "env/prod"));

        await git.SyncAsync();

        Assert.Equal(["app.yaml"], Directory.EnumerateFileSystemEntries(git.Live).Select(Path.GetFileName));
        Assert.Equal("prod", git.Read("app.yaml"));
    }

    [Fact]
    public async Task Path_Missing_IsANamedError()
    {
        _repo.Write("a", "1");
        _repo.Commit("one");
        await using var git = Harness(("path", "env/nope"));

        var error = await Assert.ThrowsAsync<SourceException>(() => git.SyncAsync());

        Assert.Contains("path 'env/nope' is not a folder in commit", error.Message);
    }

    [Fact]
    public async Task Tag_And_Branch_And_Sha_AreHonoured()
    {
        _repo.Write("v", "1");
        var v1 = _repo.Commit("v1");
        _repo.Git("tag", "-a", "v1.0", "-m", "release 1");
        _repo.Git("push", "-q", "origin", "v1.0");
        _repo.Write("v", "2");
        _repo.Commit("v2");
        _repo.Write("v", "feature");
        var feature = _repo.Commit("feature", branch: "feature");

        await using (var tagged = Harness(("ref", "v1.0")))
        {
            Assert.Equal(v1, (await tagged.SyncAsync())!.Revision);
            Assert.Equal("1", tagged.Read("v"));
        }

        await using (var branch = SourceHarness.Create(Factory, _temp.Combine("volume-b"), Settings(("ref", "feature"))))
        {
            Assert.Equal(feature, (await branch.SyncAsync())!.Revision);
        }

        await using var pinned = SourceHarness.Create(Factory, _temp.Combine("volume-c"), Settings(("ref", v1)));
        var snapshot = await pinned.PollAsync();
        Assert.True(snapshot!.IsFinal);
        Assert.Equal(v1, snapshot.Revision);
    }

    [Fact]
    public async Task DefaultRef_FollowsTheRemoteHead()
    {
        _repo.Write("a", "main");
        var main = _repo.Commit("on main");

        await using var git = Harness();

        Assert.Equal(main, (await git.SyncAsync())!.Revision);
    }

    [Fact]
    public async Task ForcePush_IsFollowed()
    {
        _repo.Write("a", "1");
        var one = _repo.Commit("one");
        _repo.Write("a", "2");
        _repo.Commit("two");
        await using var git = Harness();
        await git.SyncAsync();

        _repo.Git("reset", "-q", "--hard", one);
        _repo.Write("a", "rewritten");
        _repo.Git("add", "-A");
        _repo.Git("commit", "-q", "-m", "rewritten");
        _repo.Git("push", "-q", "--force", "origin", "HEAD:refs/heads/main");

        var manifest = await git.SyncAsync();

        Assert.Equal(_repo.Head, manifest!.Revision);
        Assert.Equal("rewritten", git.Read("a"));
    }

    [Fact]
    public async Task DeletedRef_IsANamedError_AndTheLiveTreeStays()
    {
        _repo.Write("a", "1");
        _repo.Commit("one");
        _repo.Write("a", "2");
        _repo.Commit("two", branch: "release");
        await using var git = Harness(("ref", "release"));
        await git.SyncAsync();

        _repo.Git("push", "-q", "origin", "--delete", "release");
        var error = await Assert.ThrowsAsync<SourceException>(() => git.SyncAsync());

        Assert.Contains("ref 'release' was not found at", error.Message);
        Assert.Equal("2", git.Read("a"));
    }

    [Fact]
    public async Task SymlinkLeavingTheRepository_IsRefusedByName()
    {
        _repo.Write("a", "1");
        _repo.Symlink("evil", "../../../../etc/passwd");
        _repo.Commit("evil");
        await using var git = Harness();

        var error = await Assert.ThrowsAsync<PublishException>(() => git.SyncAsync());

        Assert.Contains("'evil' is a symbolic link to '../../../../etc/passwd', which leads outside the tree", error.Message);
        Assert.False(File.Exists(git.Live));
    }

    [Fact]
    public async Task Submodules_Recursive_ArePublishedInside_AndOffLeavesThemOut()
    {
        var library = new GitRepo(_temp.Path, "library");
        library.Write("lib.yaml", "shared: true");
        library.Commit("lib");
        _repo.Write("app.yaml", "app");
        _repo.Git("-c", "protocol.file.allow=always", "submodule", "add", "-q", library.Bare, "vendor/lib");
        _repo.Commit("with submodule");

        // The submodule's url is a local path: refused unless allowed, as git refuses it since 2.38.1.
        await using (var refused = Harness(("submodules", "recursive")))
        {
            var error = await Assert.ThrowsAsync<SourceException>(() => refused.SyncAsync());
            Assert.Contains("submodule 'vendor/lib': url '" + library.Bare + "' is a local path or file:// URL", error.Message);
            Assert.Contains("source.submodules.allowLocal: true", error.Message);
        }

        await using (var recursive = SourceHarness.Create(Factory, _temp.Combine("volume-local"), Settings(("submodules:mode", "recursive"), ("submodules:allowLocal", "true"))))
        {
            await recursive.SyncAsync();
            Assert.Equal("shared: true", recursive.Read("vendor/lib/lib.yaml"));
        }

        await using var off = SourceHarness.Create(Factory, _temp.Combine("volume-off"), Settings());
        await off.SyncAsync();
        Assert.Equal("app", off.Read("app.yaml"));
        Assert.False(Path.Exists(Path.Combine(off.Live, "vendor", "lib", "lib.yaml")));
    }

    [Fact]
    public async Task ServerMissing_IsANamedErrorWithoutTheCredentials()
    {
        await using var git = SourceHarness.Create(Factory, Root, new Dictionary<string, string?> { ["url"] = $"http://user:{Captured.Secret("hunter2")}@127.0.0.1:1/nothing.git", ["connectTimeout"] = "2s" });

        var error = await Assert.ThrowsAsync<SourceException>(() => git.SyncAsync());

        Assert.Contains("http://***@127.0.0.1:1/nothing.git", error.Message);
        Assert.DoesNotContain("hunter2", error.Message);
        Assert.DoesNotContain("hunter2", git.Describe);
    }

    [Fact]
    public async Task ServerMissing_PercentEncodedPasswordWithSlash_IsNamedWithoutTheCredentials()
    {
        // The password is SL/S3CRET, written percent-encoded as a URL must carry it.
        Captured.Secret("SL/S3CRET");
        await using var git = SourceHarness.Create(Factory, Root, new Dictionary<string, string?> { ["url"] = $"http://user:{Captured.Secret("SL%2FS3CRET")}@127.0.0.1:1/nothing.git", ["connectTimeout"] = "2s" });

        var error = await Assert.ThrowsAsync<SourceException>(() => git.SyncAsync());

        Assert.Contains("http://***@127.0.0.1:1/nothing.git", error.Message);
        Assert.DoesNotContain("S3CRET", error.Message);
        Assert.DoesNotContain("S3CRET", git.Describe);
    }

    [Theory]
    [InlineData("https://user:SL/S3CRET@127.0.0.1:1/repo.git")]
    [InlineData("https://user:SL@S3CRET@127.0.0.1:1/repo.git")]
    [InlineData("https://user:SL S3CRET@127.0.0.1:1/repo.git")]
    public void Read_PasswordThatNeedsPercentEncoding_IsRefusedNamingTheSettingNotTheValue(string url)
    {
        var errors = new List<string>();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["url"] = url }).Build();

        Factory.ReadOptions(new Configuration.SettingsReader(configuration, "syncs[0].source", errors), "/");

        Assert.Equal($"syncs[0].source.url: {Configuration.UrlCredentials.NeedsEncoding}; better, put the password in auth.passwordFile", Assert.Single(errors));
    }

    [Theory]
    [InlineData("relative/repo.git")]
    [InlineData("/repos/*")] // git's prefix form; libgit2 compares exact paths, so it would never match
    [InlineData("/x.git\n\tdirectory = *")] // a second configuration line trusting every repository
    [InlineData("/x.git\n[http]\n\tproxy = http://attacker:1")]
    [InlineData("/x.git\r")]
    [InlineData("/x.git\0")]
    public void Read_SafeDirectoryThatIsNotAnExactPathOrStar_IsRefusedNamingTheSetting(string entry)
    {
        var errors = new List<string>();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["url"] = "file:///repo.git",
            ["safeDirectories:0"] = "/repo.git",
            ["safeDirectories:1"] = entry,
        }).Build();

        Factory.ReadOptions(new Configuration.SettingsReader(configuration, "syncs[0].source", errors), "/");

        var error = Assert.Single(errors);
        Assert.StartsWith("syncs[0].source.safeDirectories: '", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
    }

    [Theory]
    [InlineData("/repo.git")]
    [InlineData("*")]
    public void Read_SafeDirectoryExactPathOrStar_IsAccepted(string entry)
    {
        var errors = new List<string>();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["url"] = "file:///repo.git", ["safeDirectories:0"] = entry }).Build();

        var options = (GitSourceOptions)Factory.ReadOptions(new Configuration.SettingsReader(configuration, "syncs[0].source", errors), "/");

        Assert.Empty(errors);
        Assert.Equal([entry], options.SafeDirectories);
    }

    [Fact]
    public async Task ManyFetches_CompactTheObjectCache_AndSyncingGoesOn()
    {
        _repo.Write("n", "0");
        _repo.Commit("0");
        await using var git = Harness();
        var packs = Path.Combine(git.Cache, "repo.git", "objects", "pack");
        var most = 0;
        for (var i = 1; i <= GitSource.CompactAfterPacks + 2; i++)
        {
            _repo.Write("n", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var sha = _repo.Commit(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(sha, (await git.SyncAsync())!.Revision);
            most = Math.Max(most, Directory.EnumerateFiles(packs, "*.pack").Count());
        }

        Assert.Equal((GitSource.CompactAfterPacks + 2).ToString(System.Globalization.CultureInfo.InvariantCulture), git.Read("n"));
        Assert.True(most <= GitSource.CompactAfterPacks + 1, $"the cache grew to {most} packs");
        Assert.Contains(git.LogLines, l => l.Contains("starting a fresh cache", StringComparison.Ordinal));
    }

    [Fact]
    public void Timeouts_AreAppliedToLibgit2()
    {
        LibGit2Settings.ApplyTimeouts(TimeSpan.FromMilliseconds(4321), TimeSpan.FromMilliseconds(8765));

        Assert.Equal((4321, 8765), LibGit2Settings.ReadTimeouts());
    }

    [Fact]
    public async Task PackLargerThanTheMappedLimit_IsReadThroughBoundedWindows_AndStaysBoundedAfterTheSync()
    {
        // Five incompressible 8 MiB files: one pack of 40 MiB, more than the 32 MiB libgit2 may map at once.
        for (var i = 0; i < 5; i++)
        {
            var bytes = new byte[8 << 20];
            Random.Shared.NextBytes(bytes);
            await File.WriteAllBytesAsync(Path.Combine(_repo.Work, $"blob{i}.bin"), bytes);
        }

        _repo.Commit("large");
        await using var git = Harness();

        var manifest = await git.SyncAsync();

        Assert.Equal(5, manifest!.Files.Count);
        var cache = git.Cache;
        var packs = Directory.GetFiles(cache, "*.pack", SearchOption.AllDirectories);
        Assert.True(packs.Sum(p => new FileInfo(p).Length) > LibGit2Settings.PackMappedLimit, "the test's pack is not larger than the limit");
        // The limit bounds the windows onto pack files; libgit2 maps each pack's .idx whole, outside it.
        Assert.True(MappedBytesUnder(cache, ".pack") <= LibGit2Settings.PackMappedLimit, string.Join('\n', File.ReadLines("/proc/self/maps").Where(l => l.Contains(cache, StringComparison.Ordinal))));
        Assert.Equal((LibGit2Settings.PackWindowSize, LibGit2Settings.PackMappedLimit), LibGit2Settings.ReadPackWindows());
    }

    [Fact]
    public void ObjectsAreReadWithoutHashingThemAgain()
    {
        // Two loose blobs; the second's file is overwritten with the first's, so its content no longer hashes to its id.
        var path = Path.Combine(Root, "verify.git");
        LibGit2Sharp.Repository.Init(path, isBare: true);
        using var repo = new LibGit2Sharp.Repository(path);
        var first = repo.ObjectDatabase.CreateBlob(new MemoryStream("first"u8.ToArray())).Id;
        var second = repo.ObjectDatabase.CreateBlob(new MemoryStream("second"u8.ToArray())).Id;
        string Loose(LibGit2Sharp.ObjectId id) => Path.Combine(path, "objects", id.Sha[..2], id.Sha[2..]);
        File.SetAttributes(Loose(second), FileAttributes.Normal);
        File.Copy(Loose(first), Loose(second), overwrite: true);

        LibGit2Settings.ApplyReadSettings();

        // With libgit2's default (strict verification) this lookup fails with a hash mismatch.
        using var fresh = new LibGit2Sharp.Repository(path);
        Assert.Equal("first", ((LibGit2Sharp.Blob)fresh.Lookup(second)).GetContentText());
    }

    /// <summary>The size of this process's mappings of files under <paramref name="folder"/> whose names end in <paramref name="suffix"/> (from /proc/self/maps).</summary>
    private static long MappedBytesUnder(string folder, string suffix) => File.ReadLines("/proc/self/maps")
        .Select(line => line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries))
        .Where(fields => fields.Length == 6 && fields[5].StartsWith(folder, StringComparison.Ordinal) && fields[5].EndsWith(suffix, StringComparison.Ordinal))
        .Sum(fields => fields[0].Split('-') is [var start, var end] ? Convert.ToInt64(end, 16) - Convert.ToInt64(start, 16) : 0);

    [Fact]
    public async Task SilentServer_FailsAtTheReadTimeout_InsteadOfHanging()
    {
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        var port = ((System.Net.IPEndPoint)silent.LocalEndpoint).Port;
        await using var git = SourceHarness.Create(Factory, Root, new Dictionary<string, string?> { ["url"] = $"http://127.0.0.1:{port}/repo.git", ["readTimeout"] = "1s" });

        var sync = git.SyncAsync();
        var finished = await Task.WhenAny(sync, Task.Delay(TimeSpan.FromSeconds(60)));

        Assert.Same(sync, finished);
        var error = await Assert.ThrowsAsync<SourceException>(() => sync);
        Assert.Contains($"127.0.0.1:{port}", error.Message);
    }

    [Theory]
    [InlineData("main", "refs/heads/main", null, true)]
    [InlineData("main", "refs/heads/feature", "main", false)]
    [InlineData("v1", "refs/tags/v1", null, true)]
    [InlineData("refs/heads/release", "refs/heads/release", null, true)]
    [InlineData(null, "refs/heads/main", "main", true)]
    [InlineData(null, "refs/heads/dev", "main", false)]
    [InlineData(null, "refs/heads/dev", null, true)]
    [InlineData("0123456789abcdef0123456789abcdef01234567", "refs/heads/main", "main", false)]
    public async Task MatchesPush_FollowsTheConfiguredRef(string? gitRef, string pushed, string? defaultBranch, bool expected)
    {
        await using var git = gitRef is null ? Harness() : Harness(("ref", gitRef));

        Assert.Equal(expected, git.Source.MatchesPush(pushed, defaultBranch));
    }

    private static long Inode(string path) => long.Parse(Shell.Run("/", "stat", "-c", "%i", path), System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task Commit_OverMaxFiles_IsRefusedWhileTheTreeIsWalked()
    {
        for (var i = 0; i < 6; i++)
        {
            _repo.Write($"many/f{i}.yaml", "x");
        }

        _repo.Commit("many");
        await using var git = SourceHarness.Create(Factory, Root, Settings(), maxEntries: 3);

        var error = await Assert.ThrowsAsync<SourceException>(() => git.SyncAsync());

        Assert.Contains("lists more than limits.maxFiles (3) entries", error.Message);
        Assert.Null(git.Publisher.Live);
    }

    private Dictionary<string, string?> Settings(params (string Key, string Value)[] extra) => _repo.SourceSettings(extra);

    private SourceHarness Harness(params (string Key, string Value)[] extra) => SourceHarness.Create(Factory, Root, Settings(extra));
}
