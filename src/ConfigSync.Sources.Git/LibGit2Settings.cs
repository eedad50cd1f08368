using System.Runtime.InteropServices;

namespace ConfigSync.Sources.Git;

/// <summary>
/// libgit2's socket timeouts, which LibGit2Sharp 0.32 does not expose and which default to
/// infinite: a server that accepts and then says nothing would hold a sync forever. Set through
/// <c>git_libgit2_opts</c> of the native library LibGit2Sharp ships (libgit2 1.8).
/// </summary>
internal static partial class LibGit2Settings
{
    /// <summary>The native library LibGit2Sharp 0.32 ships (libgit2 1.8).</summary>
    internal const string Native = "libgit2-5853918";
    private const int GetMWindowSize = 0;
    private const int SetMWindowSize = 1;
    private const int GetMWindowMappedLimit = 2;
    private const int SetMWindowMappedLimit = 3;
    private const int EnableStrictHashVerification = 22;
    private const int SetServerConnectTimeout = 39;
    private const int GetServerConnectTimeout = 40;
    private const int SetServerTimeout = 41;
    private const int GetServerTimeout = 42;
    private static readonly Lock Gate = new();
    private static readonly HashSet<string> SafeDirectories = new(StringComparer.Ordinal);
    private static bool _readSettingsApplied;
    private static string? _globalConfigFolder;

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

    /// <summary>Size of one mapped window of a pack file.</summary>
    public const long PackWindowSize = 8L << 20;

    /// <summary>Pack windows mapped at once, across every repository of the process.</summary>
    public const long PackMappedLimit = 32L << 20;

    /// <summary>
    /// How libgit2 reads the object cache, set once per process:
    /// <list type="bullet">
    /// <item>libgit2 reads pack files through mapped windows of 1 GiB, up to 8 GiB, and keeps them mapped
    /// while a repository is open: an idle daemon kept all of a 200 MiB pack resident. Windows of 8 MiB,
    /// 32 MiB at most, bound what a sync maps and what stays after it (the oldest unused window goes).</item>
    /// <item>libgit2 hashes every object again each time it reads one (SHA-1 with collision detection),
    /// a tenth of the time spent writing a tree of small files. Every object in the cache came through a
    /// fetch, whose indexing computed its id from its content; zlib still checks each object's checksum
    /// as it inflates it. git itself reads objects without hashing them again.</item>
    /// </list>
    /// </summary>
    public static void ApplyReadSettings()
    {
        lock (Gate)
        {
            if (_readSettingsApplied)
            {
                return;
            }

            _ = LibGit2Sharp.GlobalSettings.Version;
            if (SetSize(SetMWindowSize, (nuint)PackWindowSize) != 0 || SetSize(SetMWindowMappedLimit, (nuint)PackMappedLimit) != 0)
            {
                throw new InvalidOperationException("libgit2 refused the pack window limits");
            }

            if (SetInt(EnableStrictHashVerification, 0) != 0)
            {
                throw new InvalidOperationException("libgit2 refused to turn off strict hash verification");
            }

            _readSettingsApplied = true;
        }
    }

    /// <summary>
    /// Trusts local repositories that another user owns, as git's <c>safe.directory</c>: libgit2 reads
    /// <c>safe.directory</c> from the global configuration only, so the union of every sync's list is
    /// written to a configuration file of the daemon's own (in <paramref name="folder"/>, private
    /// state) and libgit2's global search path points there. That file first includes the global
    /// file libgit2 read before (<c>$HOME/.gitconfig</c>), so its settings (<c>url.*.insteadOf</c>,
    /// proxies) still apply. Entries are checked by the factory: an absolute path or <c>*</c>, no
    /// control characters.
    /// </summary>
    public static void TrustRepositories(IEnumerable<string> directories, string folder)
    {
        lock (Gate)
        {
            var before = SafeDirectories.Count;
            SafeDirectories.UnionWith(directories);
            if (SafeDirectories.Count == before && _globalConfigFolder is not null)
            {
                return;
            }

            _globalConfigFolder ??= Directory.CreateDirectory(Path.Combine(folder, "global-config")).FullName;
            var text = new System.Text.StringBuilder();
            if (Environment.GetEnvironmentVariable("HOME") is { Length: > 0 } home && File.Exists(Path.Combine(home, ".gitconfig")))
            {
                text.Append("[include]\n\tpath = \"").Append(Quote(Path.Combine(home, ".gitconfig"))).Append("\"\n");
            }

            text.Append("[safe]\n");
            foreach (var directory in SafeDirectories.Order(StringComparer.Ordinal))
            {
                text.Append("\tdirectory = \"").Append(Quote(directory)).Append("\"\n");
            }

            File.WriteAllText(Path.Combine(_globalConfigFolder, ".gitconfig"), text.ToString());
            LibGit2Sharp.GlobalSettings.SetConfigSearchPaths(LibGit2Sharp.ConfigurationLevel.Global, _globalConfigFolder);
        }
    }

    private static string Quote(string value) =>
        value.Any(char.IsControl)
            ? throw new ArgumentException("a git configuration value with a control character", nameof(value))
            : value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);

    /// <summary>Reads both timeouts back, in milliseconds.</summary>
    public static (int Connect, int Read) ReadTimeouts()
    {
        _ = GetInt(GetServerConnectTimeout, out var connect);
        _ = GetInt(GetServerTimeout, out var read);
        return (connect, read);
    }

    /// <summary>Reads the pack window size and the mapped limit back.</summary>
    public static (long WindowSize, long MappedLimit) ReadPackWindows()
    {
        _ = GetSize(GetMWindowSize, out var size);
        _ = GetSize(GetMWindowMappedLimit, out var limit);
        return ((long)size, (long)limit);
    }

    [LibraryImport(Native, EntryPoint = "git_libgit2_opts")]
    private static partial int SetInt(int option, int value);

    [LibraryImport(Native, EntryPoint = "git_libgit2_opts")]
    private static partial int SetSize(int option, nuint value);

    [LibraryImport(Native, EntryPoint = "git_libgit2_opts")]
    private static partial int GetSize(int option, out nuint value);

    [LibraryImport(Native, EntryPoint = "git_libgit2_opts")]
    private static partial int GetInt(int option, out int value);
}
