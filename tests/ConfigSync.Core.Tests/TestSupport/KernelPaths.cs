using System.Runtime.InteropServices;

namespace ConfigSync.Tests.TestSupport;

/// <summary>
/// The kernel as the oracle of path resolution: openat2(2) with RESOLVE_BENEATH fails with EXDEV when
/// resolving a path leaves the starting folder at any step (a <c>..</c> above it, an absolute link, a
/// link whose target climbs out), whatever the path ends in.
/// </summary>
internal static partial class KernelPaths
{
    private const long OpenatTwo = 437; // the same number on x86-64 and arm64
    private const ulong PathOnly = 0x200000 | 0x80000; // O_PATH | O_CLOEXEC
    private const ulong ResolveBeneath = 0x08;
    private const int CrossDevice = 18; // EXDEV

    /// <summary>What resolving a path beneath a folder did.</summary>
    public enum Resolution
    {
        /// <summary>Resolved to something inside.</summary>
        Inside,

        /// <summary>Stopped inside (missing name, a file used as a folder, a loop).</summary>
        Unresolved,

        /// <summary>Left the folder at some step.</summary>
        Escapes,
    }

    /// <summary>Resolves <paramref name="relative"/> beneath <paramref name="folder"/> as open(2) would, following every link.</summary>
    public static Resolution Resolve(string folder, string relative)
    {
        var dir = Open(folder, (int)PathOnly);
        if (dir < 0)
        {
            throw new IOException($"open {folder}: errno {Marshal.GetLastPInvokeError()}");
        }

        var how = new OpenHow { Flags = PathOnly, Mode = 0, Resolve = ResolveBeneath };
        var fd = Syscall(OpenatTwo, dir, relative, ref how, (nuint)Marshal.SizeOf<OpenHow>());
        var errno = Marshal.GetLastPInvokeError();
        _ = Close(dir);
        if (fd >= 0)
        {
            _ = Close((int)fd);
            return Resolution.Inside;
        }

        return errno == CrossDevice ? Resolution.Escapes : Resolution.Unresolved;
    }

    /// <summary>The canonical path (every link resolved), or null when it does not resolve.</summary>
    public static string? RealPath(string path)
    {
        var result = RealPathNative(path, 0);
        if (result == 0)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(result);
        }
        finally
        {
            Marshal.FreeHGlobal(result);
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial long Syscall(long number, nint dirfd, string path, ref OpenHow how, nuint size);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint RealPathNative(string path, nint resolved);
}
