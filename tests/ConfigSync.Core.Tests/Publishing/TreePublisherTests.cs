using System.Text;
using ConfigSync.Configuration;
using ConfigSync.Publishing;
using ConfigSync.Sources;
using ConfigSync.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace ConfigSync.Tests.Publishing;

public sealed class TreePublisherTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    private string Root => _temp.Combine("root");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Publish_FirstRevision_CreatesRelativeLinkToCompleteTree()
    {
        var publisher = Create();
        publisher.Recover();

        var manifest = await publisher.PublishAsync(ListedSnapshot.Of("rev-a", ("a.yaml", "one"), ("dir/b.yaml", "two")), null);

        Assert.NotNull(manifest);
        var link = new FileInfo(Path.Combine(Root, "current")).LinkTarget;
        Assert.Equal($".configsync/trees/{manifest.Tree}", link);
        Assert.False(Path.IsPathRooted(link));
        Assert.Equal("one", File.ReadAllText(Path.Combine(Root, "current", "a.yaml")));
        Assert.Equal("two", File.ReadAllText(Path.Combine(Root, "current", "dir", "b.yaml")));
        Assert.True(File.Exists(Path.Combine(Root, ".configsync", "manifests", manifest.Tree + ".json")));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("one"u8.ToArray())), manifest.Files[0].Sha256);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(Root, ".configsync", "staging")));
    }

    [Fact]
    public async Task Publish_SecondRevision_SwapsLinkAndHardLinksUnchangedFiles()
    {
        var publisher = Create();
        publisher.Recover();
        var first = await publisher.PublishAsync(ListedSnapshot.Of("rev-a", ("same.txt", "same"), ("changes.txt", "v1")), null);
        var second = ListedSnapshot.Of("rev-b", ("same.txt", "same"), ("changes.txt", "v2"));

        var manifest = await publisher.PublishAsync(second, null);

        Assert.NotEqual(first!.Tree, manifest!.Tree);
        Assert.Equal(1, second.Reads);
        Assert.Equal("v2", File.ReadAllText(Path.Combine(Root, "current", "changes.txt")));
        var oldInode = Inode(Path.Combine(Root, ".configsync", "trees", first.Tree, "same.txt"));
        var newInode = Inode(Path.Combine(Root, ".configsync", "trees", manifest.Tree, "same.txt"));
        Assert.Equal(oldInode, newInode);
        Assert.Equal("v1", File.ReadAllText(Path.Combine(Root, ".configsync", "trees", first.Tree, "changes.txt")));
    }

    [Fact]
    public async Task Publish_SameEntriesAsLive_WritesNothing()
    {
        var publisher = Create();
        publisher.Recover();
        await publisher.PublishAsync(ListedSnapshot.Of("rev-a", ("a", "1")), null);
        var again = ListedSnapshot.Of("rev-a2", ("a", "1"));

        var manifest = await publisher.PublishAsync(again, null);

        Assert.Null(manifest);
        Assert.Equal(0, again.Reads);
        Assert.Single(Directory.GetDirectories(Path.Combine(Root, ".configsync", "trees")));
    }

    [Theory]
    [InlineData("../escape.txt", "contains '..'")]
    [InlineData("/etc/passwd", "is an absolute path")]
    [InlineData("a//b", "has an empty path segment")]
    [InlineData("a/./b", "contains '.'")]
    [InlineData(".git/config", "'.git/config' is or is inside '.git', which is never published")]
    [InlineData("vendor/lib/.GIT/hooks/post-checkout", "is or is inside '.GIT', which is never published")]
    [InlineData("nul\0byte", "'nul\\0byte' contains a NUL character")]
    [InlineData("forged\n2026-01-01 info: all good", "'forged\\x0a2026-01-01 info: all good' contains a control character")]
    [InlineData("bell\a.txt", "'bell\\x07.txt' contains a control character")]
    [InlineData("this-name-is-300-bytes-long-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "has a name longer than 255 bytes")]
    public async Task Publish_BadPath_IsRefusedByNameAndLiveTreeStays(string path, string reason)
    {
        var publisher = Create();
        publisher.Recover();
        var good = await publisher.PublishAsync(ListedSnapshot.Of("rev-a", ("ok.txt", "ok")), null);

        var error = await Assert.ThrowsAsync<PublishException>(() => publisher.PublishAsync(ListedSnapshot.Of("rev-b", ("ok.txt", "changed"), (path, "bad")), null)!);

        Assert.Contains(reason, error.Message);
        Assert.Equal($".configsync/trees/{good!.Tree}", new FileInfo(Path.Combine(Root, "current")).LinkTarget);
        Assert.Equal("ok", File.ReadAllText(Path.Combine(Root, "current", "ok.txt")));
        Assert.False(File.Exists(Path.Combine(_temp.Path, "escape.txt")));
    }

    [Fact]
    public async Task Publish_VeryDeepOrVeryLongPaths_AreRefusedByName()
    {
        var publisher = Create();
        publisher.Recover();
        var deep = string.Join('/', Enumerable.Repeat("d", PathRules.MaxDepth)) + "/f";
        var longPath = string.Join('/', Enumerable.Repeat(new string('n', 200), 21));

        var tooDeep = await Assert.ThrowsAsync<PublishException>(() => publisher.PublishAsync(ListedSnapshot.Of("r", (deep, "x")), null)!);
        var tooLong = await Assert.ThrowsAsync<PublishException>(() => publisher.PublishAsync(ListedSnapshot.Of("r", (longPath, "x")), null)!);

        Assert.Contains($"is nested {PathRules.MaxDepth + 1} levels deep, more than {PathRules.MaxDepth}", tooDeep.Message);
        Assert.Contains($"is longer than {PathRules.MaxPathBytes} bytes", tooLong.Message);
        Assert.True(tooLong.Message.Length < 400, "a long path is shown shortened");
        var fine = string.Join('/', Enumerable.Repeat("d", PathRules.MaxDepth - 1)) + "/f";
        Assert.NotNull(await publisher.PublishAsync(ListedSnapshot.Of("r", (fine, "x")), null));
    }

    [Fact]
    public async Task Publish_EmptySource_IsRefused_AndTheLiveTreeStays()
    {
        var publisher = Create();
        publisher.Recover();
        await publisher.PublishAsync(ListedSnapshot.Of("rev-a", ("app.yaml", "port: 1")), null);

        var error = await Assert.ThrowsAsync<PublishException>(() => publisher.PublishAsync(ListedSnapshot.Of("rev-empty"), null)!);

        Assert.Contains("the source has no files (check the source's path or prefix)", error.Message);
        Assert.Equal("port: 1", File.ReadAllText(Path.Combine(Root, "current", "app.yaml")));
    }

    [Fact]
    public async Task Publish_FileThatIsAlsoAFolder_IsRefused()
    {
        var publisher = Create();
        publisher.Recover();

        var error = await Assert.ThrowsAsync<PublishException>(() => publisher.PublishAsync(ListedSnapshot.Of("r", ("a", "file"), ("a/b", "child")), null)!);

        Assert.Contains("'a' is both a file and a folder (it holds 'a/b')", error.Message);
        Assert.False(File.Exists(Path.Combine(Root, "current")));
    }

    [Fact]
    public async Task Publish_SymlinkLeavingTheTree_IsRefused_AndOneInside_IsKept()
    {
        var publisher = Create();
        publisher.Recover();
        var escaping = new ListedSnapshot("r1", [new SourceEntry("conf/evil", 10, "l1", LinkTarget: "../../secret")], new Dictionary<string, string>());

        var error = await Assert.ThrowsAsync<PublishException>(() => publisher.PublishAsync(escaping, null)!);
        Assert.Contains("'conf/evil' is a symbolic link to '../../secret', which leads outside the tree", error.Message);

        var inside = new ListedSnapshot("r2", [new SourceEntry("conf/app.yaml", 1, "v", false), new SourceEntry("app.yaml", 13, "l2", LinkTarget: "conf/app.yaml")], new Dictionary<string, string> { ["conf/app.yaml"] = "x" });
        await publisher.PublishAsync(inside, null);
        Assert.Equal("conf/app.yaml", new FileInfo(Path.Combine(Root, "current", "app.yaml")).LinkTarget);
        Assert.Equal("x", File.ReadAllText(Path.Combine(Root, "current", "app.yaml")));
    }

    [Fact]
    public async Task Publish_OverLimits_IsRefusedWithTheLimitNamed()
    {
        var publisher = Create(sync: s => s with { MaxFiles = 2, MaxBytes = 10 });
        publisher.Recover();

        var tooMany = await Assert.ThrowsAsync<PublishException>(() => publisher.PublishAsync(ListedSnapshot.Of("r", ("a", "1"), ("b", "2"), ("c", "3")), null)!);
        var tooBig = await Assert.ThrowsAsync<PublishException>(() => publisher.PublishAsync(ListedSnapshot.Of("r", ("a", "01234567890")), null)!);

        Assert.Contains("more than limits.maxFiles (2)", tooMany.Message);
        Assert.Contains("more than limits.maxBytes (10)", tooBig.Message);
    }

    [Fact]
    public async Task Publish_SourceSendsMoreThanListed_FailsAndCleansStaging()
    {
        var publisher = Create(sync: s => s with { MaxBytes = 100 });
        publisher.Recover();
        var lying = new ListedSnapshot("r", [new SourceEntry("a", 2, "v")], new Dictionary<string, string> { ["a"] = "much longer than two bytes" });

        var error = await Assert.ThrowsAsync<SourceException>(() => publisher.PublishAsync(lying, null)!);

        Assert.Contains("'a': the source listed 2 bytes but sent 26", error.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(Root, ".configsync", "staging")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(Root, ".configsync", "trees")));
        Assert.False(File.Exists(Path.Combine(Root, "current")));
    }

    [Fact]
    public async Task Publish_Modes_FollowSettingsAndExecutableBit()
    {
        var publisher = Create(target: t => t with { FileMode = (UnixFileMode)Convert.ToInt32("440", 8), DirMode = (UnixFileMode)Convert.ToInt32("750", 8) });
        publisher.Recover();
        var snapshot = new ListedSnapshot("r", [new SourceEntry("bin/run.sh", 2, "v1", Executable: true), new SourceEntry("secret", 2, "v2")], new Dictionary<string, string> { ["bin/run.sh"] = "#!", ["secret"] = "pw" });

        await publisher.PublishAsync(snapshot, null);

        Assert.Equal("0550", ManifestFile.FormatMode(File.GetUnixFileMode(Path.Combine(Root, "current", "bin", "run.sh"))));
        Assert.Equal("0440", ManifestFile.FormatMode(File.GetUnixFileMode(Path.Combine(Root, "current", "secret"))));
        Assert.Equal("0750", ManifestFile.FormatMode(File.GetUnixFileMode(Path.Combine(Root, "current", "bin"))));
    }

    [Fact]
    public async Task Publish_FailureMidway_LeavesLiveTreeAndNoLeftovers()
    {
        var publisher = Create();
        publisher.Recover();
        var good = await publisher.PublishAsync(ListedSnapshot.Of("r1", ("a", "1")), null);
        var failing = new ListedSnapshot("r2", [new SourceEntry("a", 1, "x"), new SourceEntry("b", 1, "y")], new Dictionary<string, string> { ["a"] = "2", ["b"] = "3" })
        {
            BeforeRead = e => e.Path == "b" ? throw new IOException("connection reset while reading 'b'") : Task.CompletedTask,
        };

        await Assert.ThrowsAsync<IOException>(() => publisher.PublishAsync(failing, null)!);

        Assert.Equal(good!.Tree, publisher.Live!.Tree);
        Assert.Equal("1", File.ReadAllText(Path.Combine(Root, "current", "a")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(Root, ".configsync", "staging")));
        Assert.Single(Directory.GetDirectories(Path.Combine(Root, ".configsync", "trees")));
        Assert.Single(Directory.GetFiles(Path.Combine(Root, ".configsync", "manifests")));
    }

    [Fact]
    public async Task Recover_VerifiedLiveTree_IsKept_StagingEmptied_AndWhatItDidNotRecordIsLeftAlone()
    {
        var first = Create();
        first.Recover();
        var live = await first.PublishAsync(ListedSnapshot.Of("r1", ("a", "1")), null);
        Directory.CreateDirectory(Path.Combine(Root, ".configsync", "staging", "interrupted", "sub"));
        File.WriteAllText(Path.Combine(Root, ".configsync", "staging", "interrupted", "sub", "half"), "x");
        File.CreateSymbolicLink(Path.Combine(Root, ".current.configsync-tmp-dead"), ".configsync/trees/nowhere");
        Directory.CreateDirectory(Path.Combine(Root, ".configsync", "trees", "abc-99"));
        File.WriteAllText(Path.Combine(Root, ".configsync", "manifests", "gone-7.json"), "{}");

        var restarted = Create();
        var recovered = restarted.Recover();

        Assert.Equal(live!.Revision, recovered!.Revision);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(Root, ".configsync", "staging")));
        Assert.False(File.Exists(Path.Combine(Root, ".configsync", "manifests", "gone-7.json")));

        // Neither has a record of ConfigSync's (a manifest, the staging folder): it never deletes by name pattern.
        Assert.NotNull(new FileInfo(Path.Combine(Root, ".current.configsync-tmp-dead")).LinkTarget);
        Assert.True(Directory.Exists(Path.Combine(Root, ".configsync", "trees", "abc-99")));
        Assert.Equal("1", File.ReadAllText(Path.Combine(Root, "current", "a")));
    }

    [Fact]
    public async Task Recover_TamperedLiveTree_IsNotTrusted_ButNotWiped()
    {
        var first = Create();
        first.Recover();
        var live = await first.PublishAsync(ListedSnapshot.Of("r1", ("a", "1")), null);
        var file = Path.Combine(Root, ".configsync", "trees", live!.Tree, "a");
        File.SetUnixFileMode(file, (UnixFileMode)Convert.ToInt32("644", 8));
        File.WriteAllText(file, "2");

        var recovered = Create().Recover();

        Assert.Null(recovered);
        Assert.Equal("2", File.ReadAllText(Path.Combine(Root, "current", "a")));
    }

    [Fact]
    public async Task RemoveOldTrees_KeepsOldTreesForGrace_ThenKeepsOnlyKeep()
    {
        var publisher = Create(target: t => t with { Keep = 1, Grace = TimeSpan.FromSeconds(30) });
        publisher.Recover();
        for (var i = 0; i < 4; i++)
        {
            await publisher.PublishAsync(ListedSnapshot.Of($"r{i}", ("a", i.ToString(System.Globalization.CultureInfo.InvariantCulture))), null);
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        publisher.RemoveOldTrees();
        Assert.Equal(4, Directory.GetDirectories(Path.Combine(Root, ".configsync", "trees")).Length);

        _time.Advance(TimeSpan.FromSeconds(30));
        publisher.RemoveOldTrees();

        var left = Directory.GetDirectories(Path.Combine(Root, ".configsync", "trees")).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(2, left.Count);
        Assert.Contains(publisher.Live!.Tree, left);
        Assert.Equal(left.Count, Directory.GetFiles(Path.Combine(Root, ".configsync", "manifests")).Length);
    }

    [Fact]
    public async Task RollBack_RestoresThePreviousTreeAtomically_EvenWithKeepZeroPastGrace()
    {
        var publisher = Create(
            target: t => t with { Keep = 0, Grace = TimeSpan.Zero },
            sync: s => s with { Signal = new SignalSettings { Verify = new ReloadVerifySettings { Url = new Uri("http://127.0.0.1:1/v"), Rollback = true } } });
        publisher.Recover();
        var first = await publisher.PublishAsync(ListedSnapshot.Of("r1", ("a", "1")), null);
        var second = await publisher.PublishAsync(ListedSnapshot.Of("r2", ("a", "2")), null);
        _time.Advance(TimeSpan.FromMinutes(1));
        publisher.RemoveOldTrees();

        var restored = publisher.RollBack();

        Assert.Equal(first, restored);
        Assert.Equal(first!.Tree, publisher.Live!.Tree);
        Assert.Equal($".configsync/trees/{first.Tree}", new FileInfo(Path.Combine(Root, "current")).LinkTarget);
        Assert.Equal("1", File.ReadAllText(Path.Combine(Root, "current", "a")));
        Assert.Null(publisher.RollBack());
        publisher.RemoveOldTrees();
        Assert.False(Directory.Exists(Path.Combine(Root, ".configsync", "trees", second!.Tree)));
    }

    [Fact]
    public async Task Publish_CopyLayout_ReplacesChangedFilesByRename_KeepsUnchangedOnes_AndDeletesLast()
    {
        var publisher = Create(target: t => t with { Layout = TreeLayout.Copy });
        publisher.Recover();
        await publisher.PublishAsync(ListedSnapshot.Of("r1", ("same.yaml", "same"), ("changes.yaml", "v1"), ("old/gone.yaml", "bye"), ("becomes-folder", "file")), null);
        var live = Path.Combine(Root, "current");
        var sameInode = Inode(Path.Combine(live, "same.yaml"));
        var changedInode = Inode(Path.Combine(live, "changes.yaml"));

        var manifest = await publisher.PublishAsync(ListedSnapshot.Of("r2", ("same.yaml", "same"), ("changes.yaml", "v2"), ("new/added.yaml", "hi"), ("becomes-folder/inside", "x")), null);

        Assert.Null(new FileInfo(live).LinkTarget);
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(Root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }), p => new FileInfo(p).LinkTarget is not null);
        Assert.Equal(sameInode, Inode(Path.Combine(live, "same.yaml")));
        Assert.NotEqual(changedInode, Inode(Path.Combine(live, "changes.yaml")));
        Assert.Equal("v2", File.ReadAllText(Path.Combine(live, "changes.yaml")));
        Assert.Equal("hi", File.ReadAllText(Path.Combine(live, "new", "added.yaml")));
        Assert.Equal("x", File.ReadAllText(Path.Combine(live, "becomes-folder", "inside")));
        Assert.False(Directory.Exists(Path.Combine(live, "old")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(Root, ".configsync", "trees")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(Root, ".configsync", "staging")));
        Assert.Equal([manifest!.Tree + ".json"], Directory.GetFiles(Path.Combine(Root, ".configsync", "manifests")).Select(Path.GetFileName));
        Assert.Null(TreePublisher.Verify(live, manifest));
    }

    [Fact]
    public async Task Recover_CopyLayout_KeepsAVerifiedFolder_AndDistrustsATamperedOne()
    {
        var first = Create(target: t => t with { Layout = TreeLayout.Copy });
        first.Recover();
        var manifest = await first.PublishAsync(ListedSnapshot.Of("r1", ("a.yaml", "1")), null);

        var verified = Create(target: t => t with { Layout = TreeLayout.Copy }).Recover();
        File.SetUnixFileMode(Path.Combine(Root, "current", "a.yaml"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(Path.Combine(Root, "current", "a.yaml"), "tampered");
        var tampered = Create(target: t => t with { Layout = TreeLayout.Copy }).Recover();

        Assert.Equal((manifest!.Tree, manifest.Revision, manifest.Files.Count), (verified?.Tree, verified?.Revision, verified?.Files.Count));
        Assert.Null(tampered);
    }

    [Fact]
    public async Task Publish_CopyLayout_OverALinkLeftByLayoutLink_IsRefusedByName()
    {
        var link = Create();
        link.Recover();
        await link.PublishAsync(ListedSnapshot.Of("r1", ("a", "1")), null);
        var copy = Create(target: t => t with { Layout = TreeLayout.Copy });
        copy.Recover();

        var e = await Assert.ThrowsAsync<PublishException>(() => copy.PublishAsync(ListedSnapshot.Of("r2", ("a", "2")), null));

        Assert.Contains("is a symbolic link (left by layout link?)", e.Message, StringComparison.Ordinal);
        Assert.Equal("1", File.ReadAllText(Path.Combine(Root, "current", "a")));
    }

    [Fact]
    public async Task Publish_KubeletLayout_LinksEntriesThroughData()
    {
        var publisher = Create(target: t => t with { Layout = TreeLayout.Kubelet });
        publisher.Recover();
        await publisher.PublishAsync(ListedSnapshot.Of("r1", ("app.yaml", "1"), ("old.yaml", "x"), ("conf/db.yaml", "d")), null);

        var second = await publisher.PublishAsync(ListedSnapshot.Of("r2", ("app.yaml", "2"), ("conf/db.yaml", "d")), null);

        Assert.Equal(second!.Tree, new FileInfo(Path.Combine(Root, "..data")).LinkTarget);
        Assert.StartsWith("..", second.Tree, StringComparison.Ordinal);
        Assert.Equal("..data/app.yaml", new FileInfo(Path.Combine(Root, "app.yaml")).LinkTarget);
        Assert.Equal("..data/conf", new DirectoryInfo(Path.Combine(Root, "conf")).LinkTarget);
        Assert.Equal("2", File.ReadAllText(Path.Combine(Root, "app.yaml")));
        Assert.Equal("d", File.ReadAllText(Path.Combine(Root, "conf", "db.yaml")));
        Assert.False(Path.Exists(Path.Combine(Root, "old.yaml")));
        Assert.NotNull(Create(target: t => t with { Layout = TreeLayout.Kubelet }).Recover());
    }

    [Fact]
    public async Task Publish_LinkPathIsARealFolder_IsRefusedWithoutTouchingIt()
    {
        Directory.CreateDirectory(Path.Combine(Root, "current"));
        File.WriteAllText(Path.Combine(Root, "current", "precious"), "keep");
        var publisher = Create();
        publisher.Recover();

        var error = await Assert.ThrowsAsync<PublishException>(() => publisher.PublishAsync(ListedSnapshot.Of("r1", ("a", "1")), null)!);

        Assert.Contains("exists and is not a symbolic link", error.Message);
        Assert.Equal("keep", File.ReadAllText(Path.Combine(Root, "current", "precious")));
    }

    [Fact]
    public async Task Publish_ReaderDuringHundredsOfSwaps_NeverSeesAMixOfRevisions()
    {
        var publisher = Create(target: t => t with { Keep = 0, Grace = TimeSpan.FromMinutes(5) });
        publisher.Recover();
        var names = Enumerable.Range(0, 20).Select(i => $"d{i % 4}/f{i}.txt").ToArray();
        await publisher.PublishAsync(Revision(0, names), null);
        using var stop = new CancellationTokenSource();
        var walks = 0;
        var problems = new List<string>();
        var reader = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    // Resolve the live link once per walk, as an app reading its config does.
                    var tree = Path.Combine(Root, new FileInfo(Path.Combine(Root, "current")).LinkTarget!);
                    var seen = names.Select(n => File.ReadAllText(Path.Combine(tree, n))).Distinct().ToList();
                    if (seen.Count != 1)
                    {
                        problems.Add(string.Join(",", seen));
                    }
                }
                catch (Exception e) when (e is IOException or NullReferenceException or ArgumentException)
                {
                    problems.Add(e.GetType().Name + ": " + e.Message);
                }

                walks++;
            }
        });
        reader.Start();

        for (var revision = 1; revision <= 300; revision++)
        {
            await publisher.PublishAsync(Revision(revision, names), null);
        }

        stop.Cancel();
        reader.Join();
        Assert.Empty(problems);
        Assert.True(walks > 0);
    }

    private static ListedSnapshot Revision(int number, string[] names) =>
        ListedSnapshot.Of($"rev{number}", [.. names.Select(n => (n, number.ToString(System.Globalization.CultureInfo.InvariantCulture)))]);

    private static long Inode(string path)
    {
        var output = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%i", path]) { RedirectStandardOutput = true })!;
        var text = output.StandardOutput.ReadToEnd();
        output.WaitForExit();
        return long.Parse(text.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private TreePublisher Create(Func<TargetSettings, TargetSettings>? target = null, Func<SyncSettings, SyncSettings>? sync = null) =>
        new(Settings.ForDirectory(_temp.Combine("src"), Root, target, sync), "test-source", _time, NullLogger.Instance);
}

internal static class PublisherExtensions
{
    public static Task<Manifest?> PublishAsync(this TreePublisher publisher, ListedSnapshot snapshot, object? _) =>
        publisher.PublishAsync(snapshot, snapshot.Entries, CancellationToken.None);
}
