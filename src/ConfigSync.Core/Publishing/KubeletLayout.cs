using System.Globalization;

namespace ConfigSync.Publishing;

/// <summary>
/// The layout of a Kubernetes ConfigMap volume: trees as <c>root/..&lt;timestamp&gt;</c>,
/// <c>root/..data -> ..&lt;timestamp&gt;</c> swapped by rename(2), and each top-level entry as
/// <c>root/name -> ..data/name</c>, so tools that watch <c>..data</c> work unchanged.
/// </summary>
internal sealed partial class KubeletLayout(VolumePaths paths) : IPublishLayout
{
    private const string DataLink = "..data";

    public string LivePath => Path.Combine(paths.Root, DataLink);

    public string TreesFolder => string.Empty;

    // Kubernetes refuses ConfigMap keys that start with "..": the layout's trees, its data link and their temporary names live there.
    public string? ReservedName(string topLevelName) =>
        topLevelName.StartsWith("..", StringComparison.Ordinal) ? "layout kubelet keeps for its own trees and links (names starting with '..')"
        : topLevelName == ".configsync" ? "ConfigSync keeps its state there"
        : null;

    public string NewTreeId(string revision, DateTimeOffset now)
    {
        var id = ".." + now.UtcDateTime.ToString("yyyy_MM_dd_HH_mm_ss.fffffff", CultureInfo.InvariantCulture);
        while (Path.Exists(TreePath(id)) || FileSystem.ReadLink(TreePath(id)) is not null)
        {
            now = now.AddTicks(1);
            id = ".." + now.UtcDateTime.ToString("yyyy_MM_dd_HH_mm_ss.fffffff", CultureInfo.InvariantCulture);
        }

        return id;
    }

    public string TreePath(string treeId) => Path.Combine(paths.Root, treeId);

    public string? LiveTreeId()
    {
        var target = FileSystem.ReadLink(LivePath);
        return target is not null && IsTreeId(target) ? target : null;
    }

    public IEnumerable<string> TreeIds() =>
        Directory.EnumerateDirectories(paths.Root, "..*").Select(Path.GetFileName).Where(n => n is not null && IsTreeId(n)).Select(n => n!);

    public void CheckTarget()
    {
        if (FileSystem.ReadLink(LivePath) is null && Path.Exists(LivePath))
        {
            throw new PublishException($"target.root: '{LivePath}' exists and is not a symbolic link; ConfigSync will not replace it");
        }
    }

    public void Swap(VolumeFolder root, VolumeFolder scratch, string treeId, Manifest manifest, Manifest? previous)
    {
        var names = TopLevelNames(manifest);
        foreach (var name in names)
        {
            var type = root.TypeOf(name);
            if (type != 0 && type != Libc.TypeLink)
            {
                throw new PublishException($"'{root.Combine(name)}' exists and is not a link ConfigSync made; it will not be replaced");
            }
        }

        root.SwapLink(DataLink, treeId, scratch);

        // New names appear after the swap (their target exists now); names gone disappear last.
        foreach (var name in names)
        {
            var wanted = $"{DataLink}/{name}";
            if (FileSystem.ReadLink(root.Combine(name)) != wanted)
            {
                root.SwapLink(name, wanted, scratch);
            }
        }

        if (previous is not null)
        {
            // Only names the previous manifest recorded, and only while they are still the link made for them.
            foreach (var gone in TopLevelNames(previous).Except(names, StringComparer.Ordinal))
            {
                if (FileSystem.ReadLink(root.Combine(gone)) == $"{DataLink}/{gone}")
                {
                    root.Delete(gone);
                }
            }

            root.Fsync();
        }
    }

    private static HashSet<string> TopLevelNames(Manifest manifest) =>
        manifest.Files.Select(f => f.Path.Split('/')[0]).ToHashSet(StringComparer.Ordinal);

    /// <summary>Exactly the names <see cref="NewTreeId"/> makes: a link target like <c>..1/../../x</c> is not one.</summary>
    public bool IsTreeId(string name) => TreeName().IsMatch(name);

    [System.Text.RegularExpressions.GeneratedRegex(@"^\.\.[0-9]{4}_[0-9]{2}_[0-9]{2}_[0-9]{2}_[0-9]{2}_[0-9]{2}\.[0-9]{7}\z", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex TreeName();
}
