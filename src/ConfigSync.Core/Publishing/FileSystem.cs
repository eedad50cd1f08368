namespace ConfigSync.Publishing;

/// <summary>Reading a link by path; every step that changes the volume goes through <see cref="VolumeFolder"/>.</summary>
internal static class FileSystem
{
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
