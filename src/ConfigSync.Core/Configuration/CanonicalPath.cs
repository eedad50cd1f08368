using System.Runtime.InteropServices;
using System.Text;

namespace ConfigSync.Configuration;

/// <summary>
/// One spelling per folder, so that two settings naming the same place compare equal
/// (<c>out</c>, <c>./out/</c>, a symbolic link to it): the real path of the nearest existing
/// ancestor, symbolic links resolved by <c>realpath(3)</c>, joined with the part that does not
/// exist yet, without trailing separators.
/// </summary>
internal static partial class CanonicalPath
{
    /// <summary>PATH_MAX on Linux (macOS's is smaller), plus the terminating NUL.</summary>
    private const int MaxPath = 4096 + 1;

    /// <summary>The canonical form of <paramref name="path"/> (made absolute against the working folder first).</summary>
    public static string Of(string path)
    {
        var current = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        var missing = new Stack<string>();
        string? real;
        while ((real = RealPath(current)) is null)
        {
            if (Path.GetDirectoryName(current) is not { } parent)
            {
                return current;
            }

            missing.Push(Path.GetFileName(current));
            current = parent;
        }

        return Path.TrimEndingDirectorySeparator(Path.Combine([real, .. missing]));
    }

    /// <summary>
    /// What identifies the folder: device and inode when it exists (so one folder bind-mounted at two
    /// paths is still one), else its canonical path.
    /// </summary>
    public static string Identity(string path)
    {
        var canonical = Of(path);
        using var folder = Publishing.Libc.OpenPath(canonical, Publishing.Libc.OpenFolder, 0);
        if (folder.IsInvalid)
        {
            return canonical;
        }

        var (device, inode) = Publishing.Libc.Identity(folder);
        return $"device {device}, inode {inode}";
    }

    /// <summary>The real path of an existing path, or null (missing, a dangling or looping link, unreadable).</summary>
    private static string? RealPath(string path)
    {
        var buffer = new byte[MaxPath];
        if (Native(path, buffer) == 0)
        {
            return null;
        }

        var length = Array.IndexOf(buffer, (byte)0);
        return Encoding.UTF8.GetString(buffer, 0, length < 0 ? buffer.Length : length);
    }

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint Native(string path, [Out] byte[] resolved);
}
