using ConfigSync.Configuration;
using ConfigSync.Publishing;
using ConfigSync.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace ConfigSync.Tests.Publishing;

/// <summary>
/// A tampered volume: each of ConfigSync's folders, the live link, an old tree and a manifest replaced
/// by a link to a victim folder, by a file, or by a folder without permissions, before start and
/// between syncs, in every layout. Whatever happens, the victim folder outside the root is byte for
/// byte and mode for mode what it was, and a refusal names the path.
/// </summary>
public sealed class HostileVolumeTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    public enum Replacement
    {
        LinkToVictim,
        File,
        UnreadableFolder,
    }

    public enum When
    {
        BeforeStart,
        BetweenSyncs,
    }

    public static TheoryData<TreeLayout, string, Replacement, When> Cases()
    {
        var data = new TheoryData<TreeLayout, string, Replacement, When>();
        foreach (var layout in Enum.GetValues<TreeLayout>())
        {
            string[] targets = layout switch
            {
                TreeLayout.Link => [".configsync", ".configsync/staging", ".configsync/trees", ".configsync/manifests", "current", "OLDTREE", "LIVEMANIFEST"],
                TreeLayout.Kubelet => [".configsync", ".configsync/staging", ".configsync/manifests", "..data", "a.yaml", "OLDTREE"],
                _ => [".configsync", ".configsync/staging", ".configsync/manifests", ".configsync/copy-live", "current", "current/sub"],
            };
            foreach (var target in targets)
            {
                foreach (var replacement in Enum.GetValues<Replacement>())
                {
                    foreach (var when in Enum.GetValues<When>())
                    {
                        data.Add(layout, target, replacement, when);
                    }
                }
            }
        }

        return data;
    }

    public void Dispose()
    {
        foreach (var folder in Directory.EnumerateDirectories(_temp.Path, "*", SearchOption.AllDirectories))
        {
            File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        _temp.Dispose();
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task TamperedVolume_NothingOutsideTheRootChanges_AndARefusalNamesThePath(TreeLayout layout, string target, Replacement replacement, When when)
    {
        var root = _temp.Combine("root");
        var victim = MakeVictim();
        var before = FolderSnapshot.Of(victim);
        var publisher = Create(root, layout);
        string? refusal = null;
        string tampered;
        try
        {
            if (when == When.BetweenSyncs)
            {
                publisher.Recover();
                await Publish(publisher, "r1", ("a.yaml", "1"), ("sub/b.yaml", "2"));
                await Publish(publisher, "r2", ("a.yaml", "1b"), ("sub/b.yaml", "2"));
                tampered = Tamper(root, target, replacement, victim, publisher);
                await Publish(publisher, "r3", ("a.yaml", "1c"), ("sub/c.yaml", "3"));
                publisher.RemoveOldTrees();
                await Publish(publisher, "r4", ("a.yaml", "1d"));
                publisher.RemoveOldTrees();
            }
            else
            {
                var first = Create(root, layout);
                first.Recover();
                await Publish(first, "r1", ("a.yaml", "1"), ("sub/b.yaml", "2"));
                await Publish(first, "r2", ("a.yaml", "1b"), ("sub/b.yaml", "2"));
                tampered = Tamper(root, target, replacement, victim, first);
                publisher.Recover();
                await Publish(publisher, "r3", ("a.yaml", "1c"), ("sub/c.yaml", "3"));
                publisher.RemoveOldTrees();
            }
        }
        catch (Exception e) when (e is PublishException or IOException)
        {
            // A refusal (PublishException), or a step the tampering made fail (IOException): either way named.
            refusal = e.Message;
            tampered = TamperedPath(root, target, publisher);
        }

        Assert.Equal(before, FolderSnapshot.Of(victim));
        if (target is ".configsync" or ".configsync/staging" or ".configsync/trees" or ".configsync/manifests" && replacement != Replacement.UnreadableFolder)
        {
            // A folder of ConfigSync's that is a link or a file stops the sync by name; it is never worked through.
            Assert.NotNull(refusal);
        }

        if (refusal is not null)
        {
            Assert.Contains(tampered, refusal);
        }
    }

    private static string TamperedPath(string root, string target, TreePublisher publisher) => target switch
    {
        "OLDTREE" or "LIVEMANIFEST" => root,
        _ => Path.Combine(root, target),
    };

    private string Tamper(string root, string target, Replacement replacement, string victim, TreePublisher publisher)
    {
        var path = target switch
        {
            // The tree a later collection deletes (the first one), and the live tree's manifest.
            "OLDTREE" => Directory.EnumerateDirectories(publisher.LivePath.EndsWith("..data", StringComparison.Ordinal) ? root : Path.Combine(root, ".configsync", "trees"), "*").Where(d => !d.EndsWith(publisher.Live!.Tree, StringComparison.Ordinal) && !d.EndsWith("..data", StringComparison.Ordinal) && !d.EndsWith(".configsync", StringComparison.Ordinal)).Order().First(),
            "LIVEMANIFEST" => Path.Combine(root, ".configsync", "manifests", publisher.Live!.Tree + ".json"),
            _ => Path.Combine(root, target),
        };
        if (new FileInfo(path).LinkTarget is not null || File.Exists(path))
        {
            File.Delete(path);
        }
        else if (Directory.Exists(path))
        {
            foreach (var folder in Directory.EnumerateDirectories(path, "*", SearchOption.AllDirectories).Prepend(path))
            {
                File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            Directory.Delete(path, recursive: true);
        }

        switch (replacement)
        {
            case Replacement.LinkToVictim:
                File.CreateSymbolicLink(path, target is ".configsync/copy-live" or "LIVEMANIFEST" or "a.yaml" ? Path.Combine(victim, "secret.txt") : victim);
                break;
            case Replacement.File:
                File.WriteAllText(path, "planted");
                break;
            default:
                Directory.CreateDirectory(path);
                File.SetUnixFileMode(path, UnixFileMode.None);
                break;
        }

        return path;
    }

    private static async Task Publish(TreePublisher publisher, string revision, params (string Path, string Content)[] files) =>
        await publisher.PublishAsync(ListedSnapshot.Of(revision, files), null);

    private TreePublisher Create(string root, TreeLayout layout) =>
        new(Settings.ForDirectory(_temp.Combine("src"), root, t => t with { Layout = layout, Keep = 0, Grace = TimeSpan.Zero }), "test-source", _time, NullLogger.Instance);

    private string MakeVictim()
    {
        var victim = _temp.Combine("victim");
        Directory.CreateDirectory(Path.Combine(victim, "inner"));
        File.WriteAllText(Path.Combine(victim, "secret.txt"), "do not touch");
        File.WriteAllText(Path.Combine(victim, "inner", "a.yaml"), "victim's own");
        File.WriteAllText(Path.Combine(victim, "a.yaml"), "victim's a");
        File.WriteAllText(Path.Combine(victim, "b.yaml"), "victim's b");
        return victim;
    }
}
