using ConfigSync.Sources;

namespace ConfigSync.Configuration;

/// <summary>One named sync: a source, a target and how often and how to signal.</summary>
public sealed record SyncSettings
{
    /// <summary>Every default, declared once by the initializers below, for readers that start from them.
    /// <see cref="Name"/>, <see cref="Source"/> and <see cref="Target"/> have none: they hold placeholders.</summary>
    internal static readonly SyncSettings Defaults = new() { Name = string.Empty, Source = null!, Target = TargetSettings.Defaults };

    /// <summary>Name, <c>[a-z0-9-]</c>, unique; used in URLs, metrics and logs.</summary>
    public required string Name { get; init; }

    /// <summary>The source and its own settings.</summary>
    public required SourceDefinition Source { get; init; }

    /// <summary>Where and how trees are published.</summary>
    public required TargetSettings Target { get; init; }

    /// <summary>Time between polls. <value>The default value is 30 seconds.</value></summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Random spread of the interval, as a fraction. <value>The default value is 0.1 (±10%).</value></summary>
    public double Jitter { get; init; } = 0.1;

    /// <summary>Time limit of one sync, end to end. <value>The default value is 2 minutes.</value></summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Consecutive failures after which <c>run</c> exits 1; 0 means never. <value>The default value is 0.</value></summary>
    public int MaxFailures { get; init; }

    /// <summary>Readiness turns 503 when the last success is older than this; zero turns it off. <value>The default value is zero (off).</value></summary>
    public TimeSpan MaxStaleness { get; init; }

    /// <summary>Glob patterns of paths to publish. <value>The default value is everything (<c>**</c>).</value></summary>
    public IReadOnlyList<string> Include { get; init; } = ["**"];

    /// <summary>Glob patterns of paths to leave out. <value>The default value is none.</value></summary>
    public IReadOnlyList<string> Exclude { get; init; } = [];

    /// <summary>Most files in one tree. <value>The default value is 10,000.</value></summary>
    public int MaxFiles { get; init; } = 10_000;

    /// <summary>Most bytes in one tree. <value>The default value is 256 MiB.</value></summary>
    public long MaxBytes { get; init; } = 256L << 20;

    /// <summary>How the app is told about a new tree.</summary>
    public SignalSettings Signal { get; init; } = new();

    /// <summary>Checks run on the staged tree before it is published; any failure rejects the revision. <value>The default value is none.</value></summary>
    public IReadOnlyList<CheckSettings> Validate { get; init; } = [];

    /// <summary>The bucket or container <c>configsync publish</c> writes this sync's tree into, or null (a sync onto a volume).</summary>
    public PublishSettings? Publish { get; init; }

    /// <summary>Decryption of SOPS files at publish time, or null when off.</summary>
    public DecryptSettings? Decrypt { get; init; }

    /// <summary>Push webhook settings, or null when <c>POST /webhook/{name}</c> is off for this sync.</summary>
    public WebhookSettings? Webhook { get; init; }

    /// <summary>A file touched after each sync that published a revision, and after the first success (git-sync's <c>--touch-file</c>); absolute, or null.</summary>
    public string? TouchFile { get; init; }

    /// <summary>A file holding the last error while the sync fails, removed on success (git-sync's <c>--error-file</c>); absolute, or null.</summary>
    public string? ErrorFile { get; init; }
}

/// <summary>How a tree is laid out on the shared volume.</summary>
public enum TreeLayout
{
    /// <summary><c>root/link -> .configsync/trees/&lt;id&gt;</c>, swapped by rename(2).</summary>
    Link,

    /// <summary>Like a Kubernetes ConfigMap volume: <c>..data -> ..&lt;timestamp&gt;</c>, entries through <c>..data</c>.</summary>
    Kubelet,

    /// <summary><c>root/link</c> is a real folder; each file is replaced by rename, deletions last (the tree as a whole is not swapped atomically).</summary>
    Copy,
}

/// <summary>Where and how trees are published.</summary>
public sealed record TargetSettings
{
    /// <summary>Every default, for readers that start from them; <see cref="Root"/> has none and holds a placeholder.</summary>
    internal static readonly TargetSettings Defaults = new() { Root = string.Empty };

    /// <summary>The shared volume folder.</summary>
    public required string Root { get; init; }

    /// <summary>Name of the live link inside <see cref="Root"/>. <value>The default value is <c>current</c>.</value></summary>
    public string Link { get; init; } = "current";

    /// <summary>Layout. <value>The default value is <see cref="TreeLayout.Link"/>.</value></summary>
    public TreeLayout Layout { get; init; } = TreeLayout.Link;

    /// <summary>Mode of published files; executable entries also get the matching x bits. <value>The default value is 0644.</value></summary>
    public UnixFileMode FileMode { get; init; } = (UnixFileMode)0x1A4;

    /// <summary>Mode of published folders. <value>The default value is 0755.</value></summary>
    public UnixFileMode DirMode { get; init; } = (UnixFileMode)0x1ED;

    /// <summary>Adds group write to files and folders. <value>The default value is false.</value></summary>
    public bool GroupWrite { get; init; }

    /// <summary>Old trees kept after their grace period. <value>The default value is 3.</value></summary>
    public int Keep { get; init; } = 3;

    /// <summary>Least time an old tree lives after it stops being live. <value>The default value is 30 seconds.</value></summary>
    public TimeSpan Grace { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Also write the manifest into the tree as <c>.configsync-manifest.json</c>. <value>The default value is false.</value></summary>
    public bool ManifestInTree { get; init; }

    /// <summary>The file mode a published file gets.</summary>
    public UnixFileMode EffectiveFileMode(bool executable)
    {
        var mode = FileMode | (GroupWrite ? UnixFileMode.GroupWrite : 0);
        if (executable)
        {
            mode |= UnixFileMode.UserExecute;
            mode |= (mode & UnixFileMode.GroupRead) != 0 ? UnixFileMode.GroupExecute : 0;
            mode |= (mode & UnixFileMode.OtherRead) != 0 ? UnixFileMode.OtherExecute : 0;
        }

        return mode;
    }

    /// <summary>The mode a published folder gets.</summary>
    public UnixFileMode EffectiveDirMode => DirMode | (GroupWrite ? UnixFileMode.GroupWrite : 0);
}

/// <summary>How the app is told about a new tree.</summary>
public sealed record SignalSettings
{
    /// <summary>Every default, for readers that start from them.</summary>
    internal static readonly SignalSettings Defaults = new();

    /// <summary>URL to call after each publish; none means no HTTP signal.</summary>
    public Uri? Url { get; init; }

    /// <summary>HTTP method. <value>The default value is POST.</value></summary>
    public string Method { get; init; } = "POST";

    /// <summary>Extra request headers; <c>{revision}</c> and <c>{sync}</c> in a value are replaced (git-sync's <c>Gitsync-Hash: {revision}</c>).</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>Status codes that count as success; empty means any 2xx, and 0 means any answer at all. <value>The default value is empty.</value></summary>
    public IReadOnlyList<int> SuccessStatus { get; init; } = [];

    /// <summary>Time limit of one attempt. <value>The default value is 5 seconds.</value></summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Skip the signal for the first publish after start (the app reads config at start). <value>The default value is false.</value></summary>
    public bool SkipFirst { get; init; }

    /// <summary>Command and arguments run after each publish; empty means none.</summary>
    public IReadOnlyList<string> ExecCommand { get; init; } = [];

    /// <summary>Time limit of the command. <value>The default value is 30 seconds.</value></summary>
    public TimeSpan ExecTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Extra environment of the command; <c>{revision}</c> and <c>{sync}</c> in a value are replaced.</summary>
    public IReadOnlyDictionary<string, string> ExecEnv { get; init; } = new Dictionary<string, string>();

    /// <summary>Whether the command runs in the live tree (as git-sync's exechook runs in the worktree) rather than the target root. <value>The default value is false (the root).</value></summary>
    public bool ExecInTree { get; init; }

    /// <summary>Reload verification after the signal, or null when off.</summary>
    public ReloadVerifySettings? Verify { get; init; }
}

/// <summary>
/// Reload verification (<c>signal.verify</c>): after the app accepted the signal, poll a URL of the app
/// until it reports the new revision, in a JSON field, in a header, or (with neither) by answering 2xx.
/// </summary>
public sealed record ReloadVerifySettings
{
    /// <summary>Every default, for readers that start from them; <see cref="Url"/> has none and holds a placeholder.</summary>
    internal static readonly ReloadVerifySettings Defaults = new() { Url = null! };

    /// <summary>The URL polled with GET; <c>{revision}</c> in it is replaced by the revision.</summary>
    public required Uri Url { get; init; }

    /// <summary>A JSON field of the answer (dotted path, for example <c>config.revision</c>) that must equal the revision.</summary>
    public string? Field { get; init; }

    /// <summary>A header of the answer that must equal the revision.</summary>
    public string? Header { get; init; }

    /// <summary>Time between polls. <value>The default value is 1 second.</value></summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long the app has to report the revision. <value>The default value is 30 seconds.</value></summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Move the live link back to the previous tree (and signal it) when verification fails. <value>The default value is false.</value></summary>
    public bool Rollback { get; init; }
}
