namespace ConfigSync.Configuration;

/// <summary>The validated, immutable configuration of one daemon.</summary>
/// <param name="Http">Where the HTTP surface listens.</param>
/// <param name="Log">Log format and level.</param>
/// <param name="Syncs">The syncs, in configuration order.</param>
public sealed record DaemonSettings(HttpSettings Http, LogSettings Log, IReadOnlyList<SyncSettings> Syncs)
{
    /// <summary>
    /// The private state folder (<c>stateDir</c>): credentials the sources write (ssh key and wrapper,
    /// keyrings) and their caches (git objects), one folder per sync inside, mode 0700. Never on the
    /// shared volume, which the app (often the same uid) can read.
    /// <value>The default value is <c>$XDG_STATE_HOME/configsync</c>, else <c>~/.local/state/configsync</c>
    /// (the image sets <c>/var/lib/configsync</c>).</value>
    /// </summary>
    public string StateDir { get; init; } = DefaultStateDir();

    /// <summary>The default <see cref="StateDir"/>, or an empty string when neither XDG_STATE_HOME nor a home folder is known.</summary>
    public static string DefaultStateDir()
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
        if (!string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg))
        {
            return Path.Combine(xdg, "configsync");
        }

        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return string.IsNullOrEmpty(home) || home == "/" ? string.Empty : Path.Combine(home, ".local", "state", "configsync");
    }

    /// <summary>
    /// A sync's own folder in <see cref="StateDir"/>: its name and a hash of its target root, so two
    /// daemons of one user (local development, tests) with a sync of the same name never share a cache.
    /// </summary>
    public string StateDirOf(SyncSettings sync)
    {
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(sync.Target.Root)))[..8];
        return Path.Combine(StateDir, $"{sync.Name}-{hash}");
    }
}

/// <summary>The HTTP surface: health, readiness, metrics, status and triggers.</summary>
/// <param name="Host">Bind address. <value>The default value is <c>0.0.0.0</c>.</value></param>
/// <param name="Port">Bind port, or 0 when <c>listen: off</c>. <value>The default value is 8081 (never 8080, which the app usually owns).</value></param>
/// <param name="TriggerTokenFile">Optional file holding the bearer token required for triggers from other hosts.</param>
public sealed record HttpSettings(string Host, int Port, string? TriggerTokenFile)
{
    /// <summary>The default listen address.</summary>
    public const string DefaultListen = "0.0.0.0:8081";

    /// <summary>The <c>http.listen</c> value that turns the HTTP surface off (git-sync without <c>--http-bind</c>, <c>configsync dev</c>).</summary>
    public const string Off = "off";

    /// <summary>Whether the daemon serves HTTP at all.</summary>
    public bool Enabled => Port > 0;
}

/// <summary>Logging settings.</summary>
/// <param name="Format"><c>console</c> or <c>json</c>. <value>The default value is <c>console</c>.</value></param>
/// <param name="Level"><c>trace</c>, <c>debug</c>, <c>info</c>, <c>warn</c> or <c>error</c>. <value>The default value is <c>info</c>.</value></param>
public sealed record LogSettings(string Format, string Level)
{
    /// <summary>The defaults: <c>console</c>, <c>info</c>.</summary>
    internal static readonly LogSettings Defaults = new("console", "info");
}
