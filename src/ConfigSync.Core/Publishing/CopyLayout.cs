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
internal sealed class CopyLayout(VolumePaths paths, string linkName, UnixFileMode dirMode) : IPublishLayout
{
    private static readonly IReadOnlySet<string> NoReservedNames = new HashSet<string>();

    public string LivePath => Path.Combine(paths.Root, linkName);

    public IReadOnlySet<string> ReservedNames => NoReservedNames;

    private string Marker => Path.Combine(paths.State, "copy-live");

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
            var id = File.ReadAllText(Marker).Trim();
            return id.Length > 0 && Directory.Exists(LivePath) && new FileInfo(LivePath).LinkTarget is null ? id : null;
        }
        catch (IOException)
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

    public void Swap(string treeId, Manifest manifest, Manifest? previous) =>
        throw new NotSupportedException("layout copy applies a staged tree file by file; it has no link to swap");

    public void RemoveLeftovers()
    {
    }

    /// <summary>Moves the staged tree's new and changed entries over the live ones, then deletes what the new revision no longer has.</summary>
    public void Apply(string staging, Manifest manifest, Manifest? previous)
    {
        Directory.CreateDirectory(LivePath, dirMode);
        var old = previous?.Files.ToDictionary(f => f.Path, StringComparer.Ordinal) ?? [];
        var wanted = new HashSet<string>(StringComparer.Ordinal);
        var folders = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in manifest.Files)
        {
            wanted.Add(file.Path);
            var destination = Path.Combine(LivePath, file.Path);
            var folder = Path.GetDirectoryName(file.Path);
            for (var f = folder; !string.IsNullOrEmpty(f); f = Path.GetDirectoryName(f))
            {
                folders.Add(f);
            }

            if (old.TryGetValue(file.Path, out var was) && was.SameContent(file) && (File.Exists(destination) || new FileInfo(destination).LinkTarget is not null))
            {
                continue;
            }

            if (!string.IsNullOrEmpty(folder))
            {
                MakeFolder(folder);
            }

            if (Directory.Exists(destination) && new FileInfo(destination).LinkTarget is null)
            {
                // A folder becomes a file: the one step that cannot be a single rename.
                FileSystem.DeleteTree(destination);
            }

            Libc.Rename(Path.Combine(staging, file.Path), destination);
        }

        foreach (var path in Directory.EnumerateFileSystemEntries(LivePath, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .OrderByDescending(p => p.Length)
            .ToList())
        {
            var relative = Path.GetRelativePath(LivePath, path);
            var isFolder = Directory.Exists(path) && new FileInfo(path).LinkTarget is null;
            if (isFolder ? !folders.Contains(relative) : !wanted.Contains(relative))
            {
                if (isFolder)
                {
                    FileSystem.DeleteTree(path);
                }
                else
                {
                    FileSystem.DeleteFile(path);
                }
            }
        }

        Libc.SyncFileSystem(LivePath);
        FileSystem.WriteAtomically(Marker, System.Text.Encoding.UTF8.GetBytes(manifest.Tree), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }

    private void MakeFolder(string relative)
    {
        var full = LivePath;
        foreach (var segment in relative.Split('/'))
        {
            full = Path.Combine(full, segment);
            if (File.Exists(full) || new FileInfo(full).LinkTarget is not null)
            {
                // A file becomes a folder.
                FileSystem.DeleteFile(full);
            }

            if (!Directory.Exists(full))
            {
                Directory.CreateDirectory(full, dirMode);
            }
        }
    }
}
