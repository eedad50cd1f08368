using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace ConfigSync.Publishing;

/// <summary>
/// Creates the files of a staged tree: open(2) with O_CREAT | O_EXCL | O_NOFOLLOW and the file's
/// mode, so the mode is set by the open itself (a separate fchmod only where the process umask
/// would take bits away) and nothing existing, nor anything behind a link, is ever opened.
/// </summary>
internal static class FileCreation
{
    /// <summary>The process umask, read once from /proc/self/status (0777 where unknown: every mode is then set explicitly).</summary>
    internal static readonly UnixFileMode Umask = ReadUmask();

    /// <summary>Creates <paramref name="path"/> with exactly <paramref name="mode"/>.</summary>
    public static SafeFileHandle CreateNew(string path, UnixFileMode mode)
    {
        var file = Libc.OpenFile(path, Libc.CreateNewFile, (uint)mode);
        if (file.IsInvalid)
        {
            var errno = Marshal.GetLastPInvokeError();
            file.Dispose();
            var reason = Marshal.GetPInvokeErrorMessage(errno);
            throw errno switch
            {
                28 => new IOException($"No space left on device : '{path}'", errno),
                36 => new PublishException($"'{(path.Length <= 160 ? path : path[..60] + "..." + path[^80..])}': a name is too long for the target's file system"),
                _ => new IOException($"create '{path}': {reason}", errno),
            };
        }

        if ((mode & Umask) != 0 && Libc.FileChmod(file, (uint)mode) != 0)
        {
            var error = Libc.LastError($"chmod '{path}'");
            file.Dispose();
            throw error;
        }

        return file;
    }

    private static UnixFileMode ReadUmask()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("Umask:", StringComparison.Ordinal))
                {
                    return (UnixFileMode)Convert.ToInt32(line["Umask:".Length..].Trim(), 8);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return (UnixFileMode)0x1FF;
    }
}
