namespace ConfigSync.Publishing;

/// <summary>File-system steps on paths the operator configured (status files); the volume's own folders go through <see cref="VolumeFolder"/>.</summary>
internal static class FileSystem
{
    /// <summary>Deletes a file or link if it is there (a link's target is never touched).</summary>
    public static void DeleteFile(string path)
    {
        if (File.Exists(path) || new FileInfo(path).LinkTarget is not null)
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// Writes bytes to a new temporary file (never through a link planted there), fsyncs it, renames it
    /// into place and fsyncs the folder.
    /// </summary>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> bytes, UnixFileMode mode)
    {
        var temp = path + ".tmp";
        DeleteFile(temp);
        using (var file = FileCreation.CreateNew(temp, mode))
        {
            RandomAccess.Write(file, bytes, 0);
            RandomAccess.FlushToDisk(file);
        }

        Libc.Rename(temp, path);
        Libc.FsyncDirectory(Path.GetDirectoryName(path)!);
    }

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
}
