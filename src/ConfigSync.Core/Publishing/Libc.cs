using System.Runtime.InteropServices;

namespace ConfigSync.Publishing;

/// <summary>The few POSIX calls .NET does not expose: rename(2) over a symlink to a folder, link(2), fsync(2) of a folder.</summary>
internal static partial class Libc
{
    private const int ReadOnly = 0;
    private const int CloseOnExec = 0x80000;
    private const uint SyncFileRangeWrite = 2;

    /// <summary>Atomically replaces <paramref name="newPath"/> with <paramref name="oldPath"/>.</summary>
    public static void Rename(string oldPath, string newPath)
    {
        if (RenameNative(oldPath, newPath) != 0)
        {
            throw Error($"rename '{oldPath}' to '{newPath}'");
        }
    }

    /// <summary>Creates a hard link; returns false (and leaves nothing behind) when the file system refuses.</summary>
    public static bool TryLink(string existing, string newPath) => LinkNative(existing, newPath) == 0;

    /// <summary>Flushes a folder's entries to disk.</summary>
    public static void FsyncDirectory(string path)
    {
        var fd = Open(path, ReadOnly | CloseOnExec);
        if (fd < 0)
        {
            throw Error($"open folder '{path}'");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw Error($"fsync folder '{path}'");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>Flushes every dirty page of the file system holding <paramref name="path"/> to disk (syncfs(2)):
    /// one call makes a whole staged tree durable, instead of one fsync per file.</summary>
    public static void SyncFileSystem(string path)
    {
        var fd = Open(path, ReadOnly | CloseOnExec);
        if (fd < 0)
        {
            throw Error($"open '{path}'");
        }

        try
        {
            if (SyncFs(fd) != 0)
            {
                throw Error($"syncfs '{path}'");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>syncfs(2) of the file system holding an open file or folder.</summary>
    public static void SyncFileSystem(SafeHandle file, string what)
    {
        if (SyncFsHandle(file) != 0)
        {
            throw Error($"syncfs '{what}'");
        }
    }

    /// <summary>
    /// Starts writing a file's dirty pages to disk without waiting for them (sync_file_range(2) with
    /// SYNC_FILE_RANGE_WRITE, as git's batch fsync mode does), so the disk works while the rest of the
    /// tree downloads and the closing syncfs has less left to wait for. Durability still comes from that
    /// syncfs: this only moves the writing earlier. Advisory: where it is not supported nothing happens.
    /// </summary>
    public static void StartWriteback(Microsoft.Win32.SafeHandles.SafeFileHandle file)
    {
        if (OperatingSystem.IsLinux())
        {
            _ = SyncFileRange(file, 0, 0, SyncFileRangeWrite);
        }
    }

    private static IOException Error(string what)
    {
        var errno = Marshal.GetLastPInvokeError();
        return new IOException($"{what}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
    }

    [LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameNative(string oldPath, string newPath);

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LinkNative(string oldPath, string newPath);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "syncfs", SetLastError = true)]
    private static partial int SyncFs(int fd);

    [LibraryImport("libc", EntryPoint = "syncfs", SetLastError = true)]
    private static partial int SyncFsHandle(SafeHandle fd);

    [LibraryImport("libc", EntryPoint = "sync_file_range")]
    private static partial int SyncFileRange(Microsoft.Win32.SafeHandles.SafeFileHandle fd, long offset, long count, uint flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
