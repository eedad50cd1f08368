using System.Text;

namespace ConfigSync.Tests.TestSupport;

/// <summary>Every entry of a folder (and the folder itself): path, content or "folder", mode; equal snapshots mean nothing changed.</summary>
internal static class FolderSnapshot
{
    public static string Of(string folder)
    {
        var text = new StringBuilder();
        foreach (var path in Directory.EnumerateFileSystemEntries(folder, "*", SearchOption.AllDirectories).Append(folder).Order(StringComparer.Ordinal))
        {
            var file = new FileInfo(path);
            text.Append(path).Append(' ').Append(file.Exists ? File.ReadAllText(path) : "folder").Append(' ')
                .Append(file.Exists ? file.UnixFileMode : new DirectoryInfo(path).UnixFileMode).Append('\n');
        }

        return text.ToString();
    }
}
