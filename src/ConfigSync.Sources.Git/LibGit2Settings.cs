using System.Runtime.InteropServices;

namespace ConfigSync.Sources.Git;

/// <summary>
/// libgit2's socket timeouts, which LibGit2Sharp 0.32 does not expose and which default to
/// infinite: a server that accepts and then says nothing would hold a sync forever. Set through
/// <c>git_libgit2_opts</c> of the native library LibGit2Sharp ships (libgit2 1.8).
/// </summary>
internal static partial class LibGit2Settings
{
    private const string Native = "libgit2-5853918";
    private const int SetServerConnectTimeout = 39;
    private const int GetServerConnectTimeout = 40;
    private const int SetServerTimeout = 41;
    private const int GetServerTimeout = 42;
    private static readonly Lock Gate = new();

    /// <summary>Sets both timeouts (process-wide; the longest configured by any git sync wins).</summary>
    public static void ApplyTimeouts(TimeSpan connect, TimeSpan read)
    {
        lock (Gate)
        {
            _ = LibGit2Sharp.GlobalSettings.Version;
            var connectMs = (int)Math.Min(int.MaxValue, connect.TotalMilliseconds);
            var readMs = (int)Math.Min(int.MaxValue, read.TotalMilliseconds);
            if (SetInt(SetServerConnectTimeout, connectMs) != 0 || SetInt(SetServerTimeout, readMs) != 0)
            {
                throw new InvalidOperationException("libgit2 refused the server timeouts");
            }
        }
    }

    /// <summary>Reads both timeouts back, in milliseconds.</summary>
    public static (int Connect, int Read) ReadTimeouts()
    {
        _ = GetInt(GetServerConnectTimeout, out var connect);
        _ = GetInt(GetServerTimeout, out var read);
        return (connect, read);
    }

    [LibraryImport(Native, EntryPoint = "git_libgit2_opts")]
    private static partial int SetInt(int option, int value);

    [LibraryImport(Native, EntryPoint = "git_libgit2_opts")]
    private static partial int GetInt(int option, out int value);
}
