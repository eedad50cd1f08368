using System.Globalization;

namespace ConfigSync.Publishing;

/// <summary>
/// The layout of a Kubernetes ConfigMap volume: trees as <c>root/..&lt;timestamp&gt;</c>,
/// <c>root/..data -> ..&lt;timestamp&gt;</c> swapped by rename(2), and each top-level entry as
/// <c>root/name -> ..data/name</c>, so tools that watch <c>..data</c> work unchanged.
/// </summary>
internal sealed class KubeletLayout(VolumePaths paths) : IPublishLayout
{
    private const string DataLink = "..data";
    private static readonly IReadOnlySet<string> Reserved = new HashSet<string>(StringComparer.Ordinal) { DataLink, ".configsync" };

    public string LivePath => Path.Combine(paths.Root, DataLink);

    public IReadOnlySet<string> ReservedNames => Reserved;

    public string NewTreeId(string revision, DateTimeOffset now)
    {
        var id = ".." + now.UtcDateTime.ToString("yyyy_MM_dd_HH_mm_ss.fffffff", CultureInfo.InvariantCulture);
        while (Directory.Exists(TreePath(id)))
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

    public void Swap(string treeId, Manifest manifest, Manifest? previous)
    {
        var names = TopLevelNames(manifest);
        foreach (var name in names)
        {
            var path = Path.Combine(paths.Root, name);
            var target = FileSystem.ReadLink(path);
            if (target is null && Path.Exists(path))
            {
                throw new PublishException($"'{path}' exists and is not a link ConfigSync made; it will not be replaced");
            }
        }

        FileSystem.SwapLink(LivePath, treeId);

        // New names appear after the swap (their target exists now); names gone disappear last.
        foreach (var name in names)
        {
            var path = Path.Combine(paths.Root, name);
            var wanted = $"{DataLink}/{name}";
            if (FileSystem.ReadLink(path) != wanted)
            {
                FileSystem.SwapLink(path, wanted);
            }
        }

        if (previous is not null)
        {
            foreach (var gone in TopLevelNames(previous).Except(names, StringComparer.Ordinal))
            {
                var path = Path.Combine(paths.Root, gone);
                if (FileSystem.ReadLink(path) == $"{DataLink}/{gone}")
                {
                    File.Delete(path);
                }
            }

            Libc.FsyncDirectory(paths.Root);
        }
    }

    public void RemoveLeftovers()
    {
        foreach (var leftover in Directory.EnumerateFileSystemEntries(paths.Root, ".*.configsync-tmp-*"))
        {
            FileSystem.DeleteFile(leftover);
        }
    }

    private static HashSet<string> TopLevelNames(Manifest manifest) =>
        manifest.Files.Select(f => f.Path.Split('/')[0]).ToHashSet(StringComparer.Ordinal);

    private static bool IsTreeId(string name) =>
        name.Length > 2 && name.StartsWith("..", StringComparison.Ordinal) && char.IsAsciiDigit(name[2]);
}
