using System.Runtime.InteropServices;

namespace ConfigSync.Publishing;

/// <summary>The *at(2) calls: every step relative to an open folder, none following a symbolic link unless asked.</summary>
internal static partial class Libc
{
    /// <summary>O_RDONLY | O_CLOEXEC | O_DIRECTORY | O_NOFOLLOW: a folder, never through a link.</summary>
    public static int OpenFolderNoFollow => CloseOnExec | FolderFlag | NoFollow;

    /// <summary>O_RDONLY | O_CLOEXEC | O_DIRECTORY: a folder, through links (the operator's root only).</summary>
    public static int OpenFolder => CloseOnExec | FolderFlag;

    /// <summary>O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK: an existing file, never through a link, never blocking on a FIFO planted in its place.</summary>
    public static int OpenReadNoFollow => CloseOnExec | NoFollow | 0x800;

    /// <summary>O_CLOEXEC | O_NOFOLLOW, to add to an open's own flags.</summary>
    public static int CloseOnExecNoFollow => CloseOnExec | NoFollow;

    /// <summary>O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW: a new file, never an existing one or a link.</summary>
    public static int CreateNewFile => 0x1 | 0x40 | 0x80 | CloseOnExec | NoFollow;

    /// <summary>AT_REMOVEDIR for unlinkat(2).</summary>
    public const int RemoveFolder = 0x200;

    private const int SymlinkNoFollow = 0x100;
    private const int EmptyPath = 0x1000;
    private const uint StatxType = 0x1;
    private const uint StatxIno = 0x100;

    // O_DIRECTORY and O_NOFOLLOW differ between x86-64 and arm64 (asm-generic).
    private static int FolderFlag => RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x4000 : 0x10000;
    private static int NoFollow => RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x8000 : 0x20000;

    /// <summary>The type bits of a mode (S_IFMT) and the types ConfigSync tells apart.</summary>
    public const int TypeMask = 0xF000;

    /// <summary>S_IFDIR.</summary>
    public const int TypeFolder = 0x4000;

    /// <summary>S_IFREG.</summary>
    public const int TypeFile = 0x8000;

    /// <summary>S_IFLNK.</summary>
    public const int TypeLink = 0xA000;

    /// <summary>errno ENOENT.</summary>
    public const int NoEntry = 2;

    /// <summary>errno EEXIST.</summary>
    public const int Exists = 17;

    /// <summary>errno ENOTDIR.</summary>
    public const int NotFolder = 20;

    /// <summary>errno ELOOP (O_NOFOLLOW met a link).</summary>
    public const int Loop = 40;

    /// <summary>The file type (S_IFMT bits) of <paramref name="name"/> in the folder <paramref name="folder"/>, without following a link; 0 when absent.</summary>
    public static int TypeAt(SafeHandle folder, string name, out int errno)
    {
        Span<byte> buffer = stackalloc byte[256];
        if (Statx(folder, name, SymlinkNoFollow, StatxType, ref MemoryMarshal.GetReference(buffer)) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return 0;
        }

        errno = 0;
        return BitConverter.ToUInt16(buffer[28..30]) & TypeMask;
    }

    /// <summary>The file type (S_IFMT bits) of an open file; 0 when it cannot be read.</summary>
    public static int TypeOf(SafeHandle file)
    {
        Span<byte> buffer = stackalloc byte[256];
        return Statx(file, string.Empty, EmptyPath, StatxType, ref MemoryMarshal.GetReference(buffer)) != 0
            ? 0
            : BitConverter.ToUInt16(buffer[28..30]) & TypeMask;
    }

    /// <summary>The file system magic of an open file or folder (fstatfs f_type: tmpfs 0x01021994, ramfs 0x858458f6); -1 when unknown.</summary>
    public static long FileSystemType(SafeHandle file)
    {
        Span<long> buffer = stackalloc long[16]; // struct statfs on 64-bit Linux is 120 bytes; f_type comes first
        return Fstatfs(file, ref MemoryMarshal.GetReference(buffer)) != 0 ? -1 : buffer[0];
    }

    /// <summary>The file system magic of the file system holding <paramref name="path"/>; -1 when unknown.</summary>
    public static long FileSystemType(string path)
    {
        Span<long> buffer = stackalloc long[16];
        return Statfs(path, ref MemoryMarshal.GetReference(buffer)) != 0 ? -1 : buffer[0];
    }

    /// <summary>Raises the soft limit of open files to the hard one (as Go's runtime does): a publish holds one descriptor per folder of the tree.</summary>
    public static void RaiseOpenFileLimit()
    {
        Span<ulong> limit = stackalloc ulong[2];
        if (GetRlimit(7, ref MemoryMarshal.GetReference(limit)) == 0 && limit[0] < limit[1])
        {
            limit[0] = limit[1];
            _ = SetRlimit(7, ref MemoryMarshal.GetReference(limit));
        }
    }

    [LibraryImport("libc", EntryPoint = "fstatfs", SetLastError = true)]
    private static partial int Fstatfs(SafeHandle file, ref long buffer);

    [LibraryImport("libc", EntryPoint = "statfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statfs(string path, ref long buffer);

    [LibraryImport("libc", EntryPoint = "getrlimit")]
    private static partial int GetRlimit(int resource, ref ulong limits);

    [LibraryImport("libc", EntryPoint = "setrlimit")]
    private static partial int SetRlimit(int resource, ref ulong limits);

    [LibraryImport("libc", EntryPoint = "futimens", SetLastError = true)]
    public static partial int TouchNow(SafeHandle file, nint times);

    /// <summary>Device and inode of an open file or folder (statx is the same on every architecture, unlike struct stat).</summary>
    public static (ulong Device, ulong Inode) Identity(SafeHandle file)
    {
        Span<byte> buffer = stackalloc byte[256];
        if (Statx(file, string.Empty, EmptyPath, StatxIno, ref MemoryMarshal.GetReference(buffer)) != 0)
        {
            throw Error("statx");
        }

        var inode = BitConverter.ToUInt64(buffer[32..40]);
        var device = ((ulong)BitConverter.ToUInt32(buffer[136..140]) << 32) | BitConverter.ToUInt32(buffer[140..144]);
        return (device, inode);
    }

    /// <summary>openat(2) of a folder; an invalid handle on failure (errno in the last P/Invoke error).</summary>
    public static FolderHandle OpenAt(SafeHandle folder, string name, int flags, uint mode) => new(OpenAtNative(folder, name, flags, mode));

    /// <summary>openat(2) of a file; an invalid handle on failure (errno in the last P/Invoke error).</summary>
    public static Microsoft.Win32.SafeHandles.SafeFileHandle OpenFileAt(SafeHandle folder, string name, int flags, uint mode) =>
        new(OpenAtNative(folder, name, flags, mode), ownsHandle: true);

    /// <summary>open(2) of a folder; an invalid handle on failure (errno in the last P/Invoke error).</summary>
    public static FolderHandle OpenPath(string path, int flags, uint mode) => new(OpenNative(path, flags, mode));

    /// <summary>open(2) of a file; an invalid handle on failure (errno in the last P/Invoke error).</summary>
    public static Microsoft.Win32.SafeHandles.SafeFileHandle OpenFile(string path, int flags, uint mode) => new(OpenNative(path, flags, mode), ownsHandle: true);

    // Returned as int and wrapped by hand: a SafeHandle return would read -1 as a 64-bit 0xFFFFFFFF, a "valid" descriptor.
    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenAtNative(SafeHandle folder, string name, int flags, uint mode);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenNative(string path, int flags, uint mode);

    [LibraryImport("libc", EntryPoint = "mkdirat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MakeFolderAt(SafeHandle folder, string name, uint mode);

    [LibraryImport("libc", EntryPoint = "unlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int UnlinkAt(SafeHandle folder, string name, int flags);

    [LibraryImport("libc", EntryPoint = "renameat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int RenameAt(SafeHandle fromFolder, string from, SafeHandle toFolder, string to);

    [LibraryImport("libc", EntryPoint = "symlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SymlinkAt(string target, SafeHandle folder, string name);

    [LibraryImport("libc", EntryPoint = "linkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int LinkAt(SafeHandle fromFolder, string from, SafeHandle toFolder, string to, int flags);

    /// <summary>pwrite(2) of all of <paramref name="bytes"/> at <paramref name="offset"/> (RandomAccess.Write would first lseek and fstat the handle to learn what it is).</summary>
    public static unsafe void WriteAt(SafeHandle file, ReadOnlySpan<byte> bytes, long offset, string what)
    {
        fixed (byte* start = bytes)
        {
            var done = 0;
            while (done < bytes.Length)
            {
                var n = PWrite(file, start + done, (nuint)(bytes.Length - done), offset + done);
                if (n < 0)
                {
                    if (Marshal.GetLastPInvokeError() == 4)
                    {
                        continue; // EINTR
                    }

                    throw Error(what);
                }

                done += (int)n;
            }
        }
    }

    /// <summary>pread(2) into <paramref name="bytes"/> at <paramref name="offset"/>; returns the bytes read, 0 at the end.</summary>
    public static unsafe int ReadAt(SafeHandle file, Span<byte> bytes, long offset, string what)
    {
        fixed (byte* start = bytes)
        {
            while (true)
            {
                var n = PRead(file, start, (nuint)bytes.Length, offset);
                if (n >= 0)
                {
                    return (int)n;
                }

                if (Marshal.GetLastPInvokeError() != 4)
                {
                    throw Error(what);
                }
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "pwrite", SetLastError = true)]
    private static unsafe partial nint PWrite(SafeHandle file, byte* buffer, nuint count, long offset);

    [LibraryImport("libc", EntryPoint = "pread", SetLastError = true)]
    private static unsafe partial nint PRead(SafeHandle file, byte* buffer, nuint count, long offset);

    [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    public static partial int FileChmod(SafeHandle file, uint mode);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    public static partial int FsyncHandle(SafeHandle file);

    [LibraryImport("libc", EntryPoint = "dup", SetLastError = true)]
    public static partial int Duplicate(SafeHandle file);

    [LibraryImport("libc", EntryPoint = "fdopendir", SetLastError = true)]
    public static partial nint OpenFolderStream(int fd);

    [LibraryImport("libc", EntryPoint = "readdir", SetLastError = true)]
    public static partial nint ReadFolder(nint stream);

    [LibraryImport("libc", EntryPoint = "closedir", SetLastError = true)]
    public static partial int CloseFolderStream(nint stream);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(SafeHandle folder, string name, int flags, uint mask, ref byte buffer);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int CloseHandle(nint fd);

    /// <summary>The last error of a call, as an IOException naming what was done.</summary>
    public static IOException LastError(string what) => Error(what);

    /// <summary>An open file descriptor, closed on dispose.</summary>
    public sealed class FolderHandle : SafeHandle
    {
        public FolderHandle(int fd)
            : base(-1, ownsHandle: true) => SetHandle(fd);

        /// <inheritdoc />
        public override bool IsInvalid => handle < 0;

        /// <inheritdoc />
        protected override bool ReleaseHandle() => CloseHandle(handle) == 0;
    }
}
