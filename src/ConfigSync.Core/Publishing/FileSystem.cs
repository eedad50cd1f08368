namespace ConfigSync.Publishing;

/// <summary>File-system steps shared by the publisher and its layouts.</summary>
internal static class FileSystem
{
    /// <summary>Deletes a folder tree, first giving its owner write access where a read-only mode would stop it.</summary>
    public static void DeleteTree(string path)
    {
        var info = new DirectoryInfo(path);
        if (info.LinkTarget is not null)
        {
            info.Delete();
            return;
        }

        if (!info.Exists)
        {
            return;
        }

        MakeWritable(info);
        info.Delete(recursive: true);
    }

    /// <summary>Deletes a file or link if it is there.</summary>
    public static void DeleteFile(string path)
    {
        if (File.Exists(path) || new FileInfo(path).LinkTarget is not null)
        {
            File.Delete(path);
        }
    }

    /// <summary>Writes bytes to a temporary file, fsyncs it, renames it into place and fsyncs the folder.</summary>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> bytes, UnixFileMode mode)
    {
        var temp = path + ".tmp";
        using (var file = new FileStream(temp, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = mode }))
        {
            file.Write(bytes);
            file.Flush(flushToDisk: true);
        }

        Libc.Rename(temp, path);
        Libc.FsyncDirectory(Path.GetDirectoryName(path)!);
    }

    /// <summary>Creates a relative symlink under a temporary name and renames it over <paramref name="linkPath"/> (atomic).</summary>
    public static void SwapLink(string linkPath, string relativeTarget)
    {
        var folder = Path.GetDirectoryName(linkPath)!;
        var temp = Path.Combine(folder, TempLinkPrefix(Path.GetFileName(linkPath)) + Guid.NewGuid().ToString("N")[..8]);
        File.CreateSymbolicLink(temp, relativeTarget);
        try
        {
            Libc.Rename(temp, linkPath);
        }
        catch
        {
            DeleteFile(temp);
            throw;
        }

        Libc.FsyncDirectory(folder);
    }

    /// <summary>The prefix of temporary links made for <paramref name="linkName"/>; leftovers are removed at start.</summary>
    public static string TempLinkPrefix(string linkName) => $".{linkName.TrimStart('.')}.configsync-tmp-";

    /// <summary>Reads where a symlink points, or null when the path is not a symlink.</summary>
    public static string? ReadLink(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// Applies the folder mode to every folder below <paramref name="root"/>, then makes the whole
    /// tree (file contents, modes, folder entries) durable with one syncfs(2) of its file system.
    /// </summary>
    public static void SealTree(string root, UnixFileMode dirMode)
    {
        var folders = Directory.EnumerateDirectories(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint })
            .Append(root);
        foreach (var folder in folders)
        {
            File.SetUnixFileMode(folder, dirMode);
        }

        Libc.SyncFileSystem(root);
    }

    private static void MakeWritable(DirectoryInfo folder)
    {
        const UnixFileMode Owner = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        if ((folder.UnixFileMode & Owner) != Owner)
        {
            folder.UnixFileMode |= Owner;
        }

        foreach (var sub in folder.EnumerateDirectories())
        {
            if (sub.LinkTarget is null)
            {
                MakeWritable(sub);
            }
        }
    }
}
