using System.Globalization;

namespace ConfigSync.Publishing;

/// <summary>
/// <c>layout: copy</c>, for readers that cannot follow symbolic links (kaniko, subPath mounts):
/// <c>root/link</c> is a real folder whose files are replaced one by one, each by rename(2) from
/// the staged tree (so every file is whole, old or new), new and changed files first, deletions
/// last. The tree as a whole is not swapped atomically: during an apply a reader can see some files
/// of the new revision beside some of the old. The live revision's id is kept in
/// <c>.configsync/copy-live</c>; its manifest verifies the folder at start like any tree.
/// </summary>
/// <remarks>
/// Every step goes through open folders without following links: a link planted in the live folder
/// where the revision needs a folder is removed (the link, never what it points to), and clean-up
/// deletes only the paths the previous revision's manifest recorded, never whatever it finds.
/// </remarks>
internal sealed partial class CopyLayout(VolumePaths paths, string linkName, UnixFileMode dirMode) : IPublishLayout
{
    private const string MarkerName = "copy-live";

    public string LivePath => Path.Combine(paths.Root, linkName);

    public string TreesFolder => linkName;

    public bool IsTreeId(string treeId) => TreeName().IsMatch(treeId);

    [System.Text.RegularExpressions.GeneratedRegex("^[a-z0-9]{1,12}-[0-9]+\\z", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex TreeName();

    public string? ReservedName(string topLevelName) => null;

    public string NewTreeId(string revision, DateTimeOffset now)
    {
        var rev = new string(revision.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit).Take(12).ToArray());
        var stamp = now.ToUnixTimeMilliseconds();
        if (LiveTreeId() is { } live && live.EndsWith("-" + stamp.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal))
        {
            stamp++;
        }

        return $"{(rev.Length == 0 ? "rev" : rev)}-{stamp.ToString(CultureInfo.InvariantCulture)}";
    }

    // Every revision lives in the same folder.
    public string TreePath(string treeId) => LivePath;

    public string? LiveTreeId()
    {
        try
        {
            using var root = VolumeFolder.OpenRoot(paths.Root);
            using var state = root.TryOpen(".configsync");
            var id = state?.ReadFile(MarkerName, 256) is { } bytes ? System.Text.Encoding.UTF8.GetString(bytes).Trim() : string.Empty;
            return IsTreeId(id) && root.TypeOf(linkName) == Libc.TypeFolder ? id : null;
        }
        catch (Exception e) when (e is IOException or PublishException)
        {
            return null;
        }
    }

    public IEnumerable<string> TreeIds() => LiveTreeId() is { } id ? [id] : [];

    public void CheckTarget()
    {
        var info = new FileInfo(LivePath);
        if (info.LinkTarget is not null)
        {
            throw new PublishException($"target.link: '{LivePath}' is a symbolic link (left by layout link?); layout copy writes into a real folder and will not replace it");
        }

        if (info.Exists)
        {
            throw new PublishException($"target.link: '{LivePath}' is a file; layout copy needs a folder there");
        }
    }

    public void Swap(VolumeFolder root, VolumeFolder scratch, string treeId, Manifest manifest, Manifest? previous) =>
        throw new NotSupportedException("layout copy applies a staged tree file by file; it has no link to swap");

    /// <summary>Moves the staged tree's new and changed entries over the live ones, then deletes what the previous revision had and the new one has not.</summary>
    public void Apply(VolumeFolder root, VolumeFolder state, VolumeFolder staged, Manifest manifest, Manifest? previous)
    {
        using var live = root.Open(linkName, create: true);
        _ = Libc.FileChmod(live.Handle, (uint)dirMode);
        var old = previous?.Files.ToDictionary(f => f.Path, StringComparer.Ordinal) ?? [];
        var wanted = manifest.Files.Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
        var folders = Folders(manifest);
        using var liveFolders = new FolderCache(live, replaceNonFolders: true, dirMode);
        using var stagedFolders = new FolderCache(staged, replaceNonFolders: false, dirMode);
        foreach (var file in manifest.Files)
        {
            var (folder, name) = FolderCache.Split(file.Path);
            var destination = liveFolders.Get(folder)!;
            var type = destination.TypeOf(name);
            if (old.TryGetValue(file.Path, out var was) && was.SameContent(file) && type is Libc.TypeFile or Libc.TypeLink)
            {
                continue;
            }

            if (type == Libc.TypeFolder)
            {
                // A folder becomes a file: the one step that cannot be a single rename.
                destination.Delete(name);
            }

            stagedFolders.Get(folder)!.MoveTo(name, destination, name);
        }

        if (previous is not null)
        {
            using var removal = new FolderCache(live, replaceNonFolders: false, dirMode, missingIsNull: true);
            foreach (var gone in previous.Files.Where(f => !wanted.Contains(f.Path)).OrderByDescending(f => f.Path.Length))
            {
                var (folder, name) = FolderCache.Split(gone.Path);
                if (removal.Get(folder) is { } parent && parent.TypeOf(name) is Libc.TypeFile or Libc.TypeLink)
                {
                    parent.Delete(name);
                }
            }

            // Folders the previous revision had and the new one has not, deepest first, only once empty.
            foreach (var folder in Folders(previous).Except(folders).OrderByDescending(f => f.Length))
            {
                var (parentPath, name) = FolderCache.Split(folder);
                if (removal.Get(parentPath) is { } parent && parent.TypeOf(name) == Libc.TypeFolder)
                {
                    _ = Libc.UnlinkAt(parent.Handle, name, Libc.RemoveFolder);
                }
            }
        }

        Libc.SyncFileSystem(LivePath);
        state.WriteAtomically(MarkerName, System.Text.Encoding.UTF8.GetBytes(manifest.Tree), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }

    private static HashSet<string> Folders(Manifest manifest)
    {
        var folders = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in manifest.Files)
        {
            for (var f = Path.GetDirectoryName(file.Path); !string.IsNullOrEmpty(f); f = Path.GetDirectoryName(f))
            {
                folders.Add(f);
            }
        }

        return folders;
    }
}
