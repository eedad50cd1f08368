using ConfigSync.Configuration;

namespace ConfigSync.Sources.Git;

/// <summary>Makes <c>git</c> sources.</summary>
public sealed class GitSourceFactory : SourceFactory<GitSourceOptions>
{
    /// <inheritdoc />
    public override string Type => "git";

    /// <inheritdoc />
    protected override GitSourceOptions Read(SettingsReader reader, string baseDirectory)
    {
        var url = reader.RequiredString("url");
        if (url.Length > 0 && UrlCredentials.Check(reader, "url", url, "better, put the password in auth.passwordFile") && GitUrl.Classify(url) is null)
        {
            reader.Error("url", $"'{Diagnostics.Redact.Url(url)}' is not a git URL (https://, http://, ssh://, user@host:path, git://, file:// or a local path)");
        }

        var gitRef = reader.String("ref");
        if (gitRef is not null && (gitRef.Contains("..", StringComparison.Ordinal) || gitRef.Any(c => char.IsWhiteSpace(c) || c is '~' or '^' or ':' or '?' or '*' or '[' or '\\')))
        {
            reader.Error("ref", $"'{gitRef}' is not a valid branch, tag or commit");
        }

        var path = reader.String("path")?.Trim('/');
        if (path is not null && (path.Split('/').Any(s => s is "" or "." or "..") || path.Contains('\0', StringComparison.Ordinal)))
        {
            reader.Error("path", $"'{path}' must be a relative folder inside the repository without '.' or '..'");
        }

        var auth = reader.Section("auth");

        // submodules: off | recursive, or a section { mode: off | recursive, allowLocal: false }.
        var submodules = reader.IsSection("submodules") ? reader.Section("submodules") : null;
        var defaults = GitSourceOptions.Defaults;
        var submodulesMode = defaults.Submodules ? "recursive" : "off";
        var options = new GitSourceOptions
        {
            Url = url,
            Ref = gitRef,
            Path = string.IsNullOrEmpty(path) ? null : path,
            Depth = reader.Int("depth", defaults.Depth, min: 0),
            Submodules = submodules is null
                ? reader.Choice("submodules", submodulesMode, "off", "recursive") == "recursive"
                : submodules.Choice("mode", submodulesMode, "off", "recursive") == "recursive",
            SubmodulesAllowLocal = submodules?.Bool("allowLocal", defaults.SubmodulesAllowLocal) ?? defaults.SubmodulesAllowLocal,
            SafeDirectories = reader.List("safeDirectories", defaults.SafeDirectories),
            ConnectTimeout = reader.Duration("connectTimeout", defaults.ConnectTimeout, TimeSpan.FromMilliseconds(100)),
            ReadTimeout = reader.Duration("readTimeout", defaults.ReadTimeout, TimeSpan.FromMilliseconds(100)),
            Verify = reader.Has("verify") ? ReadVerify(reader.Section("verify"), baseDirectory, gitRef) : null,
            Auth = new GitAuthOptions
            {
                Username = auth.String("username"),
                PasswordFile = ResolvePath(auth.String("passwordFile"), baseDirectory),
                PasswordEnv = auth.String("passwordEnv"),
                SshKeyFile = ResolvePath(auth.String("sshKeyFile"), baseDirectory),
                KnownHostsFile = ResolvePath(auth.String("knownHostsFile"), baseDirectory),
                StrictHostKeyChecking = auth.Bool("strictHostKeyChecking", defaults.Auth.StrictHostKeyChecking),
                GitHubApp = auth.Has("githubApp") ? ReadGitHubApp(auth.Section("githubApp"), baseDirectory) : null,
            },
        };

        var kind = url.Length > 0 ? GitUrl.Classify(url) : null;
        if (options.Auth.PasswordFile is not null && options.Auth.PasswordEnv is not null)
        {
            auth.Error("passwordEnv", "set either auth.passwordFile or auth.passwordEnv, not both");
        }

        if (kind == GitTransport.Ssh && options.Auth.StrictHostKeyChecking && options.Auth.KnownHostsFile is null)
        {
            auth.Error("knownHostsFile", "is required for ssh URLs (or set auth.strictHostKeyChecking: false, which trusts any host)");
        }

        if (options.Auth.GitHubApp is not null && (options.Auth.HasPassword || options.Auth.Username is not null || options.Auth.SshKeyFile is not null || kind is not (GitTransport.Http or null)))
        {
            auth.Error("githubApp", "authenticates an http(s) URL on its own: remove auth.username, auth.passwordFile, auth.passwordEnv and auth.sshKeyFile");
        }

        if (kind is not null and not GitTransport.Ssh && options.Auth.SshKeyFile is not null)
        {
            auth.Error("sshKeyFile", "is only used with ssh URLs");
        }

        // libgit2 takes an exact path or "*" (not git's "/path/*"); a control character would end the
        // configuration line ConfigSync writes and start another.
        foreach (var safe in options.SafeDirectories.Where(d => d != "*" && (!d.StartsWith('/') || d.EndsWith('*') || d.Any(char.IsControl))))
        {
            reader.Error("safeDirectories", $"'{Diagnostics.Redact.Url(safe).ReplaceLineEndings(" ")}' must be an absolute path of a repository, or * for every repository");
        }

        if (kind is not null and not GitTransport.Http && options.Auth.HasPassword)
        {
            auth.Error(options.Auth.PasswordFile is not null ? "passwordFile" : "passwordEnv", "is only used with http(s) URLs");
        }

        return options;
    }

    private static GitVerifyOptions ReadVerify(SettingsReader reader, string baseDirectory, string? gitRef)
    {
        var verify = new GitVerifyOptions
        {
            Mode = reader.Choice("mode", GitVerifyOptions.Defaults.Mode),
            AllowedSignersFile = ResolvePath(reader.String("allowedSignersFile"), baseDirectory),
            GpgKeysFile = ResolvePath(reader.String("gpgKeysFile"), baseDirectory),
        };
        if (verify.AllowedSignersFile is null && verify.GpgKeysFile is null)
        {
            reader.Error("allowedSignersFile", "set verify.allowedSignersFile (SSH signatures), verify.gpgKeysFile (OpenPGP signatures), or both");
        }

        if (verify.Mode == GitVerifyMode.Tag && (gitRef is null || new GitSourceOptions { Url = string.Empty, Ref = gitRef }.IsPinnedCommit))
        {
            reader.Error("mode", "'tag' needs source.ref to name a tag");
        }

        return verify;
    }

    private static GitHubAppOptions? ReadGitHubApp(SettingsReader reader, string baseDirectory)
    {
        string Id(string key)
        {
            var value = reader.Has(key) ? reader.String(key) ?? string.Empty : string.Empty;
            if (!reader.Has(key))
            {
                reader.Error(key, "is required (a number GitHub shows on the app's page)");
            }
            else if (value.Length is 0 or > 20 || !value.All(char.IsAsciiDigit))
            {
                reader.Error(key, $"'{value}' is not a number");
            }

            return value;
        }

        var appId = Id("appId");
        var installationId = Id("installationId");
        var keyFile = reader.RequiredString("privateKeyFile");
        var apiUrl = new GitHubAppOptions { AppId = string.Empty, InstallationId = string.Empty, PrivateKeyFile = string.Empty }.ApiUrl;
        if (reader.String("apiUrl") is { } text && UrlCredentials.Check(reader, "apiUrl", text, "the API URL takes no credentials")
            && (!Uri.TryCreate(text, UriKind.Absolute, out apiUrl) || apiUrl.Scheme is not ("http" or "https")))
        {
            reader.Error("apiUrl", $"'{Diagnostics.Redact.Url(text)}' is not an http:// or https:// URL");
        }
        else if (apiUrl is { Scheme: "http", IsLoopback: false })
        {
            reader.Error("apiUrl", $"'{apiUrl}' is plain http: the app's signed JWT would cross the network in clear; use https (http is for a local stand-in on loopback only)");
        }

        return new GitHubAppOptions { AppId = appId, InstallationId = installationId, PrivateKeyFile = Path.GetFullPath(keyFile, baseDirectory), ApiUrl = apiUrl! };
    }

    /// <inheritdoc />
    protected override IConfigSource Create(GitSourceOptions options, SourceContext context) => new GitSource(options, context);

    private static string? ResolvePath(string? path, string baseDirectory) => path is null ? null : System.IO.Path.GetFullPath(path, baseDirectory);
}
