using System.Collections;
using System.Globalization;

namespace ConfigSync.Cli;

/// <summary>
/// The git-sync v4 drop-in: reads git-sync's flags and <c>GITSYNC_*</c> (or v3 <c>GIT_SYNC_*</c>) variables, as
/// git-sync does (a flag wins over its variable), and translates them into ConfigSync settings with the same
/// meaning. A flag or variable it does not support is a named error, never ignored.
/// </summary>
internal static partial class GitSyncFlags
{
    private const string SyncName = "git-sync";

    private enum Kind
    {
        Text,
        Bool,
        Int,
        Duration,
    }

    private static readonly Dictionary<string, (Kind Kind, string Help)> Supported = new(StringComparer.Ordinal)
    {
        ["repo"] = (Kind.Text, "the repository to sync (required)"),
        ["ref"] = (Kind.Text, "branch, tag or commit to sync (default HEAD: the remote's default branch)"),
        ["root"] = (Kind.Text, "the folder git-sync works in (required)"),
        ["link"] = (Kind.Text, "the symlink readers use, absolute or relative to --root (default: the last part of --repo)"),
        ["period"] = (Kind.Duration, "time between syncs (default 10s)"),
        ["sync-timeout"] = (Kind.Duration, "time limit of one sync (default 120s)"),
        ["depth"] = (Kind.Int, "shallow clone depth, 0 for the whole history (default 1)"),
        ["submodules"] = (Kind.Text, "recursive or off (default recursive)"),
        ["one-time"] = (Kind.Bool, "exit after the first sync (and its hooks)"),
        ["max-failures"] = (Kind.Int, "failures in a row before exit 1; negative retries forever (default 0: the first failure exits)"),
        ["webhook-url"] = (Kind.Text, "URL called after each sync that changed, with header Gitsync-Hash"),
        ["webhook-method"] = (Kind.Text, "its method (default POST)"),
        ["webhook-success-status"] = (Kind.Int, "the status that means success; 0 or -1 accept any (default 200)"),
        ["webhook-timeout"] = (Kind.Duration, "time limit of one webhook call (default 1s)"),
        ["exechook-command"] = (Kind.Text, "command run in the new tree after each sync that changed, with GITSYNC_HASH set"),
        ["exechook-timeout"] = (Kind.Duration, "its time limit (default 30s)"),
        ["http-bind"] = (Kind.Text, "ADDRESS:PORT to serve / (503 until the first sync), /metrics and ConfigSync's endpoints"),
        ["http-metrics"] = (Kind.Bool, "accepted: /metrics is always served on --http-bind"),
        ["username"] = (Kind.Text, "user name for http(s); the password comes from --password-file or $GITSYNC_PASSWORD"),
        ["password-file"] = (Kind.Text, "file holding the password or token"),
        ["ssh-key-file"] = (Kind.Text, "SSH private key (default /etc/git-secret/ssh)"),
        ["ssh-known-hosts"] = (Kind.Bool, "check the host key against --ssh-known-hosts-file (default true)"),
        ["ssh-known-hosts-file"] = (Kind.Text, "known_hosts file (default /etc/git-secret/known_hosts)"),
        ["touch-file"] = (Kind.Text, "file touched after each sync that changed, absolute or relative to --root"),
        ["error-file"] = (Kind.Text, "file holding the last error while syncs fail, absolute or relative to --root"),
        ["group-write"] = (Kind.Bool, "make the published files and folders group-writable"),
        ["verbose"] = (Kind.Int, "log verbosity: 0-1 info, 2-4 debug, 5 and up trace"),
    };

    // git-sync v4 still accepts these v3 names; so does the drop-in.
    private static readonly Dictionary<string, string> Deprecated = new(StringComparer.Ordinal)
    {
        ["branch"] = "ref",
        ["rev"] = "ref",
        ["dest"] = "link",
        ["wait"] = "period",
        ["timeout"] = "sync-timeout",
        ["max-sync-failures"] = "max-failures",
        ["sync-hook-command"] = "exechook-command",
        ["v"] = "verbose",
    };

    private static readonly Dictionary<string, string> Unsupported = new(StringComparer.Ordinal)
    {
        ["sparse-checkout-file"] = "publish a subtree with 'configsync run --path' or include/exclude patterns in a config file",
        ["git-gc"] = "ConfigSync keeps its own object cache and needs no git gc",
        ["stale-worktree-timeout"] = "old trees are kept by target.keep and target.grace in a config file",
        ["git"] = "ConfigSync uses libgit2, not the git program",
        ["git-config"] = "ConfigSync uses libgit2, not the git program",
        ["add-user"] = "ConfigSync's ssh needs no /etc/passwd entry",
        ["cookie-file"] = "cookie-file authentication is not available",
        ["askpass-url"] = "use --password-file (re-read at every sync)",
        ["credential"] = "use --username with --password-file",
        ["github-base-url"] = "GitHub app authentication is not available; use a token with --password-file",
        ["github-app-private-key-file"] = "GitHub app authentication is not available; use a token with --password-file",
        ["github-app-client-id"] = "GitHub app authentication is not available; use a token with --password-file",
        ["github-app-application-id"] = "GitHub app authentication is not available; use a token with --password-file",
        ["github-app-installation-id"] = "GitHub app authentication is not available; use a token with --password-file",
        ["sync-on-signal"] = "ask for a sync with POST /sync/git-sync on --http-bind instead",
        ["http-pprof"] = "there are no pprof endpoints",
        ["webhook-backoff"] = "webhooks are retried with ConfigSync's exponential backoff",
        ["exechook-backoff"] = "exec hooks are retried with ConfigSync's exponential backoff",
        ["password"] = "secrets are never taken from the command line: use --password-file or $GITSYNC_PASSWORD",
        ["change-permissions"] = "git-sync v4 dropped it too: use --group-write",
        ["ssh"] = "git-sync v4 dropped it too: ssh is used for ssh URLs",
        ["man"] = "see the README's git-sync section",
    };

    /// <summary>Whether the command line (or, with no arguments, the environment) is a git-sync one.</summary>
    public static bool Applies(IReadOnlyList<string> args, IDictionary environment)
    {
        if (args.Count == 0)
        {
            return environment.Keys.Cast<string>().Any(k => k.StartsWith("GITSYNC_", StringComparison.Ordinal) || k.StartsWith("GIT_SYNC_", StringComparison.Ordinal));
        }

        return args[0].StartsWith('-') && args[0] is not ("--help" or "-h" or "-?" or "--version");
    }

    /// <summary>The usage text of the drop-in.</summary>
    public static string Usage()
    {
        var text = new System.Text.StringBuilder("Usage: configsync [git-sync v4 flags...]   (ConfigSync's git-sync drop-in; see the README)\n\nFLAGS (or GITSYNC_<NAME> variables):\n");
        foreach (var (name, (_, help)) in Supported)
        {
            text.Append(CultureInfo.InvariantCulture, $"  --{name,-24} {help}\n");
        }

        return text.ToString();
    }

    /// <summary>Reads the flags and variables and translates them; errors name the flag or variable.</summary>
    public static GitSyncTranslation Translate(IReadOnlyList<string> args, IDictionary environment)
    {
        var errors = new List<string>();
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        string? passwordEnv = null;
        ReadEnvironment(environment, values, errors, ref passwordEnv);
        var help = ReadArguments(args, values, errors);
        if (help)
        {
            return new GitSyncTranslation([], OneTime: false, Help: true, errors);
        }

        var config = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var oneTime = Bool(values, "one-time", false, errors);
        Translate(values, passwordEnv, config, errors);
        return new GitSyncTranslation(config, oneTime, Help: false, errors);
    }

    private static void ReadEnvironment(IDictionary environment, Dictionary<string, string> values, List<string> errors, ref string? passwordEnv)
    {
        // GITSYNC_* wins over the v3 GIT_SYNC_* name of the same flag, as in git-sync.
        foreach (var prefix in new[] { "GIT_SYNC_", "GITSYNC_" })
        {
            foreach (var key in environment.Keys.Cast<string>().Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
            {
                var name = key[prefix.Length..].ToLowerInvariant().Replace('_', '-');
                if (name == "password")
                {
                    passwordEnv = key;
                    continue;
                }

                if (Resolve(name, out var resolved, out var reason))
                {
                    values[resolved] = Convert(name, (string)environment[key]!);
                }
                else
                {
                    errors.Add($"environment variable {key}: {reason}");
                }
            }
        }
    }

    /// <summary>Reads pflag-style arguments (<c>--name=value</c>, <c>--name value</c>, <c>--flag</c>); true when help was asked for.</summary>
    private static bool ReadArguments(IReadOnlyList<string> args, Dictionary<string, string> values, List<string> errors)
    {
        var keyFiles = 0;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith('-') || arg == "--")
            {
                errors.Add($"'{arg}': git-sync takes flags only, no arguments");
                continue;
            }

            var body = arg.TrimStart('-');
            var equals = body.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? body : body[..equals];
            var value = equals < 0 ? null : body[(equals + 1)..];
            if (name is "help" or "h" or "?")
            {
                return true;
            }

            if (!Resolve(name, out var resolved, out var reason))
            {
                errors.Add($"--{name}: {reason}");
                if (value is null && i + 1 < args.Count && !args[i + 1].StartsWith('-'))
                {
                    i++; // its value (perhaps a secret, as with --password): skipped, never echoed
                }

                continue;
            }

            if (value is null && Supported[resolved].Kind == Kind.Bool)
            {
                value = "true";
            }
            else if (value is null)
            {
                if (i + 1 >= args.Count)
                {
                    errors.Add($"--{name}: needs a value");
                    continue;
                }

                value = args[++i];
            }

            if (resolved == "ssh-key-file" && ++keyFiles > 1)
            {
                errors.Add("--ssh-key-file: ConfigSync takes one SSH key; give the flag once");
            }

            values[resolved] = Convert(name, value);
        }

        return false;
    }

    private static bool Resolve(string name, out string resolved, out string reason)
    {
        resolved = Deprecated.GetValueOrDefault(name, name);
        reason = string.Empty;
        if (Supported.ContainsKey(resolved))
        {
            return true;
        }

        reason = Unsupported.TryGetValue(name, out var why)
            ? $"the git-sync flag is not supported by ConfigSync: {why}"
            : "is not a git-sync v4 flag (run 'configsync --repo x --help' for the flags the drop-in takes)";
        return false;
    }

    // The v3 names with other units: --wait is float seconds, --timeout integer seconds.
    private static string Convert(string name, string value) =>
        name is "wait" or "timeout" && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
            ? seconds.ToString(CultureInfo.InvariantCulture) + "s"
            : value;

    private static string Duration(Dictionary<string, string> values, string name, string defaultValue) =>
        values.GetValueOrDefault(name, defaultValue);

    private static int Int(Dictionary<string, string> values, string name, int defaultValue, List<string> errors)
    {
        if (!values.TryGetValue(name, out var text))
        {
            return defaultValue;
        }

        if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        errors.Add($"--{name}: '{text}' is not a whole number");
        return defaultValue;
    }

    // Go's strconv.ParseBool, as pflag reads booleans.
    private static bool Bool(Dictionary<string, string> values, string name, bool defaultValue, List<string> errors)
    {
        if (!values.TryGetValue(name, out var text))
        {
            return defaultValue;
        }

        switch (text)
        {
            case "1" or "t" or "T" or "true" or "TRUE" or "True":
                return true;
            case "0" or "f" or "F" or "false" or "FALSE" or "False":
                return false;
            default:
                errors.Add($"--{name}: '{text}' is not true or false");
                return defaultValue;
        }
    }
}
