namespace ConfigSync.Publishing;

/// <summary>
/// The open folders below one <see cref="VolumeFolder"/>, by relative path, each opened from its
/// parent without following links, kept open while one revision is applied.
/// </summary>
/// <param name="top">The folder paths are relative to (not disposed here).</param>
/// <param name="replaceNonFolders">Create missing folders, and remove a file or link found where a folder belongs (the link itself, never its target).</param>
/// <param name="dirMode">The mode of folders created.</param>
/// <param name="missingIsNull">Return null for a path that is missing or not a folder instead of throwing.</param>
internal sealed class FolderCache(VolumeFolder top, bool replaceNonFolders, UnixFileMode dirMode, bool missingIsNull = false) : IDisposable
{
    private readonly Dictionary<string, VolumeFolder?> _open = new(StringComparer.Ordinal);

    /// <summary>The folder at <paramref name="relative"/> (empty: the top).</summary>
    public VolumeFolder? Get(string relative)
    {
        if (relative.Length == 0)
        {
            return top;
        }

        if (_open.TryGetValue(relative, out var known))
        {
            return known;
        }

        var (parentPath, name) = Split(relative);
        var parent = Get(parentPath);
        VolumeFolder? folder = null;
        if (parent is not null)
        {
            if (replaceNonFolders)
            {
                var type = parent.TypeOf(name);
                if (type != 0 && type != Libc.TypeFolder)
                {
                    // A file becomes a folder, or a link was planted where a folder belongs.
                    parent.Delete(name);
                }

                if (type != Libc.TypeFolder && Libc.MakeFolderAt(parent.Handle, name, (uint)dirMode) != 0)
                {
                    throw System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == 36
                        ? new PublishException($"'{PathRules.Shown(relative.Length <= 120 ? relative : relative[..60] + "..." + relative[^40..])}': a name is too long for the target's file system")
                        : Libc.LastError($"create folder '{parent.Combine(name)}'");
                }
            }

            try
            {
                folder = parent.TryOpen(name);
            }
            catch (PublishException) when (missingIsNull)
            {
            }

            if (folder is null && !missingIsNull)
            {
                throw new PublishException($"'{parent.Combine(name)}' is missing");
            }
        }

        _open[relative] = folder;
        return folder;
    }

    /// <summary>A relative path's folder (empty at the top) and last name: what <see cref="Get"/> and the name-relative calls take.</summary>
    public static (string Folder, string Name) Split(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? (string.Empty, path) : (path[..slash], path[(slash + 1)..]);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var folder in _open.Values)
        {
            folder?.Dispose();
        }
    }
}
