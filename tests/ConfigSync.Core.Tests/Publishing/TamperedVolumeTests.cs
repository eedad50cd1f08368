using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ConfigSync.Configuration;
using ConfigSync.Publishing;
using ConfigSync.Sources;
using ConfigSync.Sync;
using ConfigSync.Tests.Publishing;
using ConfigSync.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace ConfigSync.Tests.Publishing;

/// <summary>
/// Findings of the adversarial review of the hardening: each test states a promise of the README /
/// threat model and failed before its fix. The victim folder is a sibling of the root, on the same file
/// system (as two emptyDirs of one pod are: the shared volume and stateDir).
/// </summary>
public sealed partial class TamperedVolumeTests : IDisposable
{
    private const string VictimText = "do not touch";
    private readonly TempFolder _temp = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    private string Root => _temp.Combine("root");

    private string Victim => _temp.Combine("victim");

    public void Dispose()
    {
        foreach (var folder in Directory.EnumerateDirectories(_temp.Path, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint }))
        {
            File.SetUnixFileMode(folder, (UnixFileMode)0x1FF);
        }

        _temp.Dispose();
    }

    // ---------------------------------------------------------------------------------------------
    // 1. Copy layout: a manifest edited on the volume makes clean-up delete outside the root.
    // ---------------------------------------------------------------------------------------------

    /// <summary>
    /// The previous manifest (edited on the volume, then a restart) lists <c>../../victim/secret.txt</c>;
    /// Verify accepts it because a file literally named <c>..\..\victim\secret.txt</c> in the copy folder
    /// becomes that path after <c>Replace('\\', '/')</c>; the next publish's clean-up opens <c>..</c> with
    /// openat (O_NOFOLLOW does not stop <c>..</c>) and unlinks the victim.
    /// </summary>
    [Fact]
    public async Task CopyLayout_ManifestEditedToListADotDotPath_IsNotTrusted_AndNothingOutsideTheRootIsDeleted()
    {
        var secret = MakeVictim("secret.txt");
        var first = Create(TreeLayout.Copy);
        first.Recover();
        var m1 = await first.PublishAsync(ListedSnapshot.Of("r1", ("a.yaml", "1")), null);

        // The attacker (any container of the pod) adds an entry to the live manifest and a file that "verifies" it.
        const string planted = "planted";
        var manifestPath = Path.Combine(Root, ".configsync", "manifests", m1!.Tree + ".json");
        var json = JsonNode.Parse(File.ReadAllText(manifestPath))!;
        json["files"]!.AsArray().Add(new JsonObject
        {
            ["path"] = "../../victim/secret.txt",
            ["size"] = planted.Length,
            ["sha256"] = Sha(planted),
            ["mode"] = "0644",
            ["version"] = "x",
        });
        File.WriteAllText(manifestPath, json.ToJsonString());
        var backslashed = Path.Combine(Root, "current", "..\\..\\victim\\secret.txt");
        File.WriteAllText(backslashed, planted);
        File.SetUnixFileMode(backslashed, (UnixFileMode)0x1A4);

        var restarted = Create(TreeLayout.Copy);
        restarted.Recover();
        await restarted.PublishAsync(ListedSnapshot.Of("r2", ("a.yaml", "2")), null);

        Assert.True(File.Exists(secret), "ConfigSync deleted a file outside target.root");
    }

    /// <summary>
    /// Copy layout: the manifest's own <c>tree</c> field (edited on the volume, then a restart) is never
    /// checked against the marker; after the next publish ConfigSync deletes <c>manifests/&lt;tree&gt;.json</c>
    /// with unlinkat, and <c>..</c> in it climbs out of the root. A folder named <c>*.json</c> goes whole.
    /// </summary>
    [Fact]
    public async Task CopyLayout_ManifestTreeFieldWithDotDot_IsNotTrusted_AndNoFolderOutsideTheRootIsDeleted()
    {
        var folder = Path.Combine(Victim, "data.json");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "inside.txt"), VictimText);
        var first = Create(TreeLayout.Copy);
        first.Recover();
        var m1 = await first.PublishAsync(ListedSnapshot.Of("r1", ("a.yaml", "1")), null);

        var manifestPath = Path.Combine(Root, ".configsync", "manifests", m1!.Tree + ".json");
        var json = JsonNode.Parse(File.ReadAllText(manifestPath))!;
        json["tree"] = "../../../victim/data"; // manifests/../../../victim/data.json
        File.WriteAllText(manifestPath, json.ToJsonString());

        var restarted = Create(TreeLayout.Copy);
        restarted.Recover();
        await restarted.PublishAsync(ListedSnapshot.Of("r2", ("a.yaml", "2")), null);

        Assert.True(File.Exists(Path.Combine(folder, "inside.txt")), "ConfigSync deleted a folder outside target.root");
    }

    // ---------------------------------------------------------------------------------------------
    // 2. Hard-link reuse goes by path through the live tree: a planted link exposes files outside the root.
    // ---------------------------------------------------------------------------------------------

    /// <summary>
    /// Between two syncs a folder of the live tree is replaced by a link to a folder outside the root
    /// (in a pod: stateDir, same file system). The next publish reuses the unchanged file with
    /// link(2) on a path through that folder, so the new live tree holds a hard link to the victim
    /// file: readable (and, same uid, writable) by the app. IsRegularFile checks only the last component.
    /// </summary>
    [Fact]
    public async Task LinkLayout_LiveTreeFolderReplacedByALink_NextPublishNeverHardLinksFromOutsideTheRoot()
    {
        var secret = MakeVictim("secret.txt");
        var publisher = Create(TreeLayout.Link);
        publisher.Recover();
        var m1 = await publisher.PublishAsync(ListedSnapshot.Of("r1", ("a.yaml", "1"), ("sub/secret.txt", "public")), null);

        var sub = Path.Combine(Root, ".configsync", "trees", m1!.Tree, "sub");
        Directory.Delete(sub, recursive: true);
        File.CreateSymbolicLink(sub, Victim);

        await publisher.PublishAsync(ListedSnapshot.Of("r2", ("a.yaml", "2"), ("sub/secret.txt", "public")), null);

        var published = Path.Combine(Root, "current", "sub", "secret.txt");
        Assert.NotEqual(Inode(secret), Inode(published));
        Assert.Equal("public", File.ReadAllText(published));
    }

    /// <summary>
    /// Link layout: Recover verifies <c>trees/&lt;id of the live link&gt;</c> but keeps the manifest's own
    /// <c>tree</c> field, which the volume can set to <c>../../../victim</c>; the next publish hard-links
    /// unchanged files from there (a file outside the root ends up in the app's tree).
    /// </summary>
    [Fact]
    public async Task LinkLayout_ManifestNamingAnotherTree_IsNotTrusted_AndNothingIsReusedFromOutside()
    {
        var secret = MakeVictim("secret.txt");
        var first = Create(TreeLayout.Link);
        first.Recover();
        var m1 = await first.PublishAsync(ListedSnapshot.Of("r1", ("a.yaml", "1"), ("secret.txt", "public")), null);

        var manifestPath = Path.Combine(Root, ".configsync", "manifests", m1!.Tree + ".json");
        var json = JsonNode.Parse(File.ReadAllText(manifestPath))!;
        json["tree"] = "../../../victim";
        File.WriteAllText(manifestPath, json.ToJsonString());

        var restarted = Create(TreeLayout.Link);
        var live = restarted.Recover();
        await restarted.PublishAsync(ListedSnapshot.Of("r2", ("a.yaml", "2"), ("secret.txt", "public")), null);

        var published = Path.Combine(Root, "current", "secret.txt");
        Assert.NotEqual(Inode(secret), Inode(published));
        Assert.Equal("public", File.ReadAllText(published));

        // A manifest that names another tree than the live link's is not trusted: not ready until the next sync.
        Assert.Null(live);
    }

    // ---------------------------------------------------------------------------------------------
    // 3. Kubelet: "..data" may point to "..1/../../victim"; Recover reads (hashes) a folder outside the root.
    // ---------------------------------------------------------------------------------------------

    /// <summary>
    /// IsTreeId only checks "..&lt;digit&gt;" at the start, so <c>..data -> ..1/../../victim</c> is taken as the
    /// live tree id: the manifest is opened with openat through <c>..</c>, and Verify enumerates and hashes
    /// every file of the victim folder (outside the root), then reports it ready as the live tree.
    /// </summary>
    [Fact]
    public void KubeletLayout_DataLinkClimbingOut_IsNotTakenForATree_AndNothingOutsideIsRead()
    {
        var secret = MakeVictim("secret.txt");
        Directory.CreateDirectory(Path.Combine(Root, "..1"));
        Directory.CreateDirectory(Path.Combine(Root, ".configsync", "manifests", "..1"));
        File.CreateSymbolicLink(Path.Combine(Root, "..data"), "..1/../../victim");
        var file = new ManifestFile("secret.txt", VictimText.Length, Sha(VictimText), ManifestFile.FormatMode(File.GetUnixFileMode(secret)), "v");
        var manifest = new Manifest("test", "r", "test-source", "..1/../../victim", _time.GetUtcNow(), new Dictionary<string, string>(), [file]);
        File.WriteAllBytes(Path.Combine(Root, ".configsync", "victim.json"), manifest.ToJson()); // manifests/..1/../../victim.json

        var live = Create(TreeLayout.Kubelet).Recover();

        Assert.Null(live);
    }

    // ---------------------------------------------------------------------------------------------
    // 4. touchFile / errorFile: written by path, through links planted under the root.
    // ---------------------------------------------------------------------------------------------

    /// <summary>touchFile (relative to the root) replaced by a link: FileStream(OpenOrCreate) follows it and creates the target outside the root.</summary>
    [Fact]
    public void TouchFileReplacedByALink_NoFileIsCreatedOutsideTheRoot()
    {
        Directory.CreateDirectory(Root);
        Directory.CreateDirectory(Victim);
        var touch = Path.Combine(Root, "touched");
        var outside = Path.Combine(Victim, "created-by-configsync");
        File.CreateSymbolicLink(touch, outside);
        var settings = Settings.ForDirectory(_temp.Combine("src"), Root, sync: s => s with { TouchFile = touch });

        new StatusFiles(settings, NullLogger.Instance).Succeeded(published: true);

        Assert.False(File.Exists(outside), "ConfigSync created a file outside target.root");
    }

    /// <summary>
    /// errorFile in a folder under the root (<c>status/error.json</c>); the folder replaced by a link to a
    /// victim folder: a failure overwrites <c>victim/error.json</c> (rename over it), a success deletes it.
    /// </summary>
    [Fact]
    public void ErrorFileFolderReplacedByALink_NothingOutsideTheRootIsOverwrittenOrDeleted()
    {
        var victimFile = MakeVictim("error.json");
        Directory.CreateDirectory(Root);
        File.CreateSymbolicLink(Path.Combine(Root, "status"), Victim);
        var settings = Settings.ForDirectory(_temp.Combine("src"), Root, sync: s => s with { ErrorFile = Path.Combine(Root, "status", "error.json") });
        var files = new StatusFiles(settings, NullLogger.Instance);

        files.Failed("boom", 1);
        var afterFailure = File.Exists(victimFile) ? File.ReadAllText(victimFile) : "<deleted>";
        files.Succeeded(published: true);

        Assert.Equal(VictimText, afterFailure);
        Assert.True(File.Exists(victimFile), "ConfigSync deleted a file outside target.root");
    }

    // ---------------------------------------------------------------------------------------------
    // 5. A state folder swapped while a tree is written: TreeWriter creates files by path.
    // ---------------------------------------------------------------------------------------------

    /// <summary>
    /// The threat model says the write race affects only "a folder of the fresh staged tree" and that
    /// "every state folder" is safe. But TreeWriter creates every file by the path
    /// <c>root/.configsync/staging/&lt;id&gt;/...</c>: swapping <c>.configsync</c> itself for a link during the
    /// write puts the next file outside the root; swapping it back lets the publish finish with a live
    /// tree that lacks a file its manifest lists (not one complete revision).
    /// </summary>
    [Fact]
    public async Task StateFolderSwappedDuringTheWrite_NoFileIsCreatedOutsideTheRoot_AndTheLiveTreeIsComplete()
    {
        var outside = _temp.Combine("outside");
        var state = Path.Combine(Root, ".configsync");
        var moved = Path.Combine(Root, ".moved");
        var publisher = Create(TreeLayout.Link);
        publisher.Recover();
        var snapshot = new ListedSnapshot(
            "r1",
            [new SourceEntry("a.yaml", 1, "va"), new SourceEntry("b.yaml", 1, "vb")],
            new Dictionary<string, string> { ["a.yaml"] = "a", ["b.yaml"] = "b" })
        {
            BeforeRead = entry =>
            {
                if (entry.Path == "a.yaml")
                {
                    var staged = Path.GetFileName(Directory.GetDirectories(Path.Combine(state, "staging")).Single());
                    Directory.CreateDirectory(Path.Combine(outside, "staging", staged));
                    Directory.Move(state, moved);
                    File.CreateSymbolicLink(state, outside);
                }
                else
                {
                    File.Delete(state);
                    Directory.Move(moved, state);
                }

                return Task.CompletedTask;
            },
        };

        await publisher.PublishAsync(snapshot, null);

        Assert.Empty(Directory.EnumerateFiles(outside, "*", SearchOption.AllDirectories));
        Assert.True(File.Exists(Path.Combine(Root, "current", "b.yaml")), "the live tree lacks a file its manifest lists");
    }

    // ---------------------------------------------------------------------------------------------
    // 6. A tampered manifest crashes the start instead of "not ready until a sync replaces it".
    // ---------------------------------------------------------------------------------------------

    public static TheoryData<string> MalformedManifests() => ["empty object", "duplicate path", "bad mode", "null path"];

    /// <summary>
    /// README: a live tree that does not verify "stays in place ... but the sync is not ready until a sync
    /// replaces it". A manifest that parses as JSON but is not a sane manifest makes Verify throw
    /// ArgumentNullException / ArgumentException / FormatException, which DaemonHost does not catch (it
    /// catches IOException, UnauthorizedAccessException, PublishException): the daemon crashes at every start.
    /// </summary>
    [Theory]
    [MemberData(nameof(MalformedManifests))]
    public async Task LiveManifestMalformed_IsNotTrusted_AndStartUpGoesOn(string kind)
    {
        var first = Create(TreeLayout.Link);
        first.Recover();
        var m1 = await first.PublishAsync(ListedSnapshot.Of("r1", ("a.yaml", "1")), null);
        var manifestPath = Path.Combine(Root, ".configsync", "manifests", m1!.Tree + ".json");
        var json = JsonNode.Parse(File.ReadAllText(manifestPath))!;
        var files = json["files"]!.AsArray();
        switch (kind)
        {
            case "empty object":
                json = new JsonObject();
                break;
            case "duplicate path":
                files.Add(files[0]!.DeepClone());
                break;
            case "bad mode":
                files[0]!["mode"] = "rw-r--r--";
                break;
            default:
                files[0]!["path"] = null;
                break;
        }

        File.WriteAllText(manifestPath, json.ToJsonString());

        var e = Record.Exception(() => Create(TreeLayout.Link).Recover());

        Assert.True(e is null or PublishException or IOException, $"Recover threw {e?.GetType().Name}: {e?.Message}");
    }

    /// <summary>
    /// A file of the live tree replaced by a FIFO (and the manifest's size being 0, as for any empty file):
    /// Verify opens it with File.OpenRead, which blocks until a writer comes. The daemon hangs in Recover,
    /// before HTTP starts.
    /// </summary>
    [Fact]
    public async Task LiveTreeFileReplacedByAFifo_StartUpDoesNotHang()
    {
        var first = Create(TreeLayout.Link);
        first.Recover();
        var m1 = await first.PublishAsync(ListedSnapshot.Of("r1", ("a.yaml", "1"), ("empty", string.Empty)), null);
        var empty = Path.Combine(Root, ".configsync", "trees", m1!.Tree, "empty");
        File.Delete(empty);
        Assert.Equal(0, MakeFifo(empty, 0x1A4));
        File.SetUnixFileMode(empty, (UnixFileMode)0x1A4);

        var recover = Task.Run(() => Create(TreeLayout.Link).Recover());
        var finished = await Task.WhenAny(recover, Task.Delay(TimeSpan.FromSeconds(5))) == recover;
        if (!finished)
        {
            // Unblock the reader so the test host can exit.
            using var writer = new FileStream(empty, FileMode.Open, FileAccess.Write);
        }

        Assert.True(finished, "Recover blocked on a FIFO planted in the live tree");
    }

    [LibraryImport("libc", EntryPoint = "mkfifo", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MakeFifo(string path, uint mode);

    private TreePublisher Create(TreeLayout layout) =>
        new(Settings.ForDirectory(_temp.Combine("src"), Root, t => t with { Layout = layout }), "test-source", _time, NullLogger.Instance);

    private string MakeVictim(string name)
    {
        Directory.CreateDirectory(Victim);
        var path = Path.Combine(Victim, name);
        File.WriteAllText(path, VictimText);
        return path;
    }

    private static string Sha(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static ulong Inode(string path)
    {
        using var handle = File.OpenHandle(path);
        return Libc.Identity(handle).Inode;
    }
}
