namespace ConfigSync.Sources.Git;

/// <summary>Settings of the <c>git</c> source.</summary>
public sealed class GitSourceOptions
{
    /// <summary>Every default, declared once by the initializers below, for the factory to start from; <see cref="Url"/> has none and holds a placeholder.</summary>
    internal static readonly GitSourceOptions Defaults = new() { Url = string.Empty };

    /// <summary>Repository URL: https://, http://, ssh://, scp-style user@host:path, git://, file:// or a local path.</summary>
    public required string Url { get; init; }

    /// <summary>Branch, tag, full ref name or full commit SHA. <value>The default value is the remote's HEAD.</value></summary>
    public string? Ref { get; init; }

    /// <summary>Subdirectory of the repository to publish. <value>The default value is the whole repository.</value></summary>
    public string? Path { get; init; }

    /// <summary>Shallow fetch depth; 0 is the full history. <value>The default value is 0.</value></summary>
    public int Depth { get; init; }

    /// <summary>Whether submodules are published too. <value>The default value is false (<c>off</c>).</value></summary>
    public bool Submodules { get; init; }

    /// <summary>Whether submodules may come from a local path or file:// URL (<c>submodules.allowLocal</c>). <value>The default value is false, as git since 2.38.1.</value></summary>
    public bool SubmodulesAllowLocal { get; init; }

    /// <summary>
    /// Local repositories (<c>file://</c> or a path) trusted although another user owns them, as git's
    /// <c>safe.directory</c>, as libgit2 reads it: an absolute path, or <c>*</c> for every repository.
    /// The trust is process-wide, the union of every git sync's list, as git's global configuration is.
    /// libgit2, like git, refuses a repository owned by another uid ("not owned by current user"),
    /// which a container running as 1654 meets on a mounted volume. <value>The default value is empty.</value>
    /// </summary>
    public IReadOnlyList<string> SafeDirectories { get; init; } = [];

    /// <summary>Time limit to connect to the server. <value>The default value is 10 seconds.</value></summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Time limit for the server to send data once connected. <value>The default value is 60 seconds.</value></summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Credentials.</summary>
    public GitAuthOptions Auth { get; init; } = new();

    /// <summary>Signature verification, or null to publish unsigned commits too. <value>The default value is null (off).</value></summary>
    public GitVerifyOptions? Verify { get; init; }

    /// <summary>Whether <see cref="Ref"/> is a full commit SHA (pinned: it never changes).</summary>
    public bool IsPinnedCommit => Ref is { Length: 40 } r && r.All(char.IsAsciiHexDigit);
}

/// <summary>Credentials of the <c>git</c> source; secrets come only from files or the environment, re-read at each sync.</summary>
public sealed class GitAuthOptions
{
    /// <summary>User name for http(s). <value>The default value is <c>git</c> when a password is set.</value></summary>
    public string? Username { get; init; }

    /// <summary>File holding the password or token for http(s).</summary>
    public string? PasswordFile { get; init; }

    /// <summary>Name of an environment variable holding the password or token for http(s).</summary>
    public string? PasswordEnv { get; init; }

    /// <summary>Private key file for ssh.</summary>
    public string? SshKeyFile { get; init; }

    /// <summary>known_hosts file for ssh.</summary>
    public string? KnownHostsFile { get; init; }

    /// <summary>Refuse ssh hosts whose key is not in <see cref="KnownHostsFile"/>. <value>The default value is true.</value></summary>
    public bool StrictHostKeyChecking { get; init; } = true;

    /// <summary>A GitHub App whose installation tokens are the password (user <c>x-access-token</c>), or null.</summary>
    public GitHubAppOptions? GitHubApp { get; init; }

    /// <summary>Whether a password is configured.</summary>
    public bool HasPassword => PasswordFile is not null || PasswordEnv is not null;
}

/// <summary>A GitHub App installation to authenticate as (<c>auth.githubApp</c>).</summary>
public sealed class GitHubAppOptions
{
    /// <summary>The app's id.</summary>
    public required string AppId { get; init; }

    /// <summary>The installation's id (the organisation or repositories the app is installed on).</summary>
    public required string InstallationId { get; init; }

    /// <summary>The app's private key (PEM).</summary>
    public required string PrivateKeyFile { get; init; }

    /// <summary>The REST API. <value>The default value is <c>https://api.github.com</c>; GitHub Enterprise Server: <c>https://HOST/api/v3</c>.</value></summary>
    public Uri ApiUrl { get; init; } = new("https://api.github.com");
}

/// <summary>What must carry the signature.</summary>
public enum GitVerifyMode
{
    /// <summary>The commit to publish must be signed.</summary>
    Commit,

    /// <summary>The ref must be an annotated tag, and the tag must be signed.</summary>
    Tag,
}

/// <summary>Signature verification of the <c>git</c> source (<c>source.verify</c>): publish only what trusted keys signed.</summary>
public sealed class GitVerifyOptions
{
    /// <summary>Every default, for the factory to start from.</summary>
    internal static readonly GitVerifyOptions Defaults = new();

    /// <summary>What must be signed. <value>The default value is <see cref="GitVerifyMode.Commit"/>.</value></summary>
    public GitVerifyMode Mode { get; init; }

    /// <summary>An OpenSSH allowed-signers file (<c>principal key-type key</c> per line) trusted for SSH signatures.</summary>
    public string? AllowedSignersFile { get; init; }

    /// <summary>OpenPGP public keys (binary or ASCII-armored, as <c>gpg --export</c> writes them) trusted for OpenPGP signatures.</summary>
    public string? GpgKeysFile { get; init; }
}
