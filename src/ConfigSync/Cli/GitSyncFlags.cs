using System.Collections;
using System.Diagnostics.CodeAnalysis;
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

    private const string Sync = "syncs:0:";

    // The drop-in's one table: the help lists the flags it takes in this order; reading, defaults, the settings the
    // values land in (and so the flag a loader error is named by) and refusals all come from here.
    private static readonly GitSyncFlag[] Table =
    [
        new("repo", GitSyncFlagKind.Text, "the repository to sync (required)") { Setting = Sync + "source:url" },
        new("ref", GitSyncFlagKind.Text, "branch, tag or commit to sync") { Default = "HEAD", DefaultNote = ": the remote's default branch", Setting = Sync + "source:ref", V3Names = ["branch", "rev"] },
        new("root", GitSyncFlagKind.Text, "the folder git-sync works in (required)") { Setting = Sync + "target:root" },
        new("link", GitSyncFlagKind.Text, "the symlink readers use, absolute or relative to --root (default: the last part of --repo)") { Setting = Sync + "target:link", V3Names = ["dest"] },
        new("period", GitSyncFlagKind.Duration, "time between syncs") { Default = "10s", Setting = Sync + "interval", V3Names = ["wait"], V3InSeconds = true },
        new("sync-timeout", GitSyncFlagKind.Duration, "time limit of one sync") { Default = "120s", Setting = Sync + "timeout", V3Names = ["timeout"], V3InSeconds = true },
        new("depth", GitSyncFlagKind.Int, "shallow clone depth, 0 for the whole history") { Default = "1", Setting = Sync + "source:depth" },
        new("submodules", GitSyncFlagKind.Text, "recursive or off") { Default = "recursive", Setting = Sync + "source:submodules" },
        new("one-time", GitSyncFlagKind.Bool, "exit after the first sync (and its hooks)"),
        new("max-failures", GitSyncFlagKind.Int, "failures in a row before exit 1; negative retries forever") { Default = "0", DefaultNote = ": the first failure exits", V3Names = ["max-sync-failures"] },
        new("webhook-url", GitSyncFlagKind.Text, "URL called after each sync that changed, with header Gitsync-Hash") { Setting = Sync + "signal:url" },
        new("webhook-method", GitSyncFlagKind.Text, "its method") { Default = "POST", Setting = Sync + "signal:method" },
        new("webhook-success-status", GitSyncFlagKind.Int, "the status that means success; 0 or -1 accept any") { Default = "200", Setting = Sync + "signal:successStatus" },
        new("webhook-timeout", GitSyncFlagKind.Duration, "time limit of one webhook call") { Default = "1s", Setting = Sync + "signal:timeout" },
        new("exechook-command", GitSyncFlagKind.Text, "command run in the new tree after each sync that changed, with GITSYNC_HASH set") { Setting = Sync + "signal:exec:command", V3Names = ["sync-hook-command"] },
        new("exechook-timeout", GitSyncFlagKind.Duration, "its time limit") { Default = "30s", Setting = Sync + "signal:exec:timeout" },
        new("http-bind", GitSyncFlagKind.Text, "ADDRESS:PORT to serve / (503 until the first sync), /metrics and ConfigSync's endpoints") { Setting = "http:listen" },
        new("http-metrics", GitSyncFlagKind.Bool, "accepted: /metrics is always served on --http-bind"),
        new("username", GitSyncFlagKind.Text, "user name for http(s); the password comes from --password-file or $GITSYNC_PASSWORD") { Setting = Sync + "source:auth:username" },
        new("password-file", GitSyncFlagKind.Text, "file holding the password or token") { Setting = Sync + "source:auth:passwordFile" },
        new("ssh-key-file", GitSyncFlagKind.Text, "SSH private key") { Default = "/etc/git-secret/ssh", Setting = Sync + "source:auth:sshKeyFile" },
        new("ssh-known-hosts", GitSyncFlagKind.Bool, "check the host key against --ssh-known-hosts-file") { Default = "true" },
        new("ssh-known-hosts-file", GitSyncFlagKind.Text, "known_hosts file") { Default = "/etc/git-secret/known_hosts", Setting = Sync + "source:auth:knownHostsFile" },
        new("touch-file", GitSyncFlagKind.Text, "file touched after each sync that changed, absolute or relative to --root") { Setting = Sync + "touchFile" },
        new("error-file", GitSyncFlagKind.Text, "file holding the last error while syncs fail, absolute or relative to --root") { Setting = Sync + "errorFile" },
        new("group-write", GitSyncFlagKind.Bool, "make the published files and folders group-writable") { Setting = Sync + "target:groupWrite" },
        new("verbose", GitSyncFlagKind.Int, "log verbosity: 0-1 info, 2-4 debug, 5 and up trace") { V3Names = ["v"] },

        GitSyncFlag.Refused("sparse-checkout-file", "publish a subtree with 'configsync run --path' or include/exclude patterns in a config file"),
        GitSyncFlag.Refused("git-gc", "ConfigSync keeps its own object cache and needs no git gc"),
        GitSyncFlag.Refused("stale-worktree-timeout", "old trees are kept by target.keep and target.grace in a config file"),
        GitSyncFlag.Refused("git", "ConfigSync uses libgit2, not the git program"),
        GitSyncFlag.Refused("git-config", "ConfigSync uses libgit2, not the git program"),
        GitSyncFlag.Refused("add-user", "ConfigSync's ssh needs no /etc/passwd entry"),
        GitSyncFlag.Refused("cookie-file", "cookie-file authentication is not available"),
        GitSyncFlag.Refused("askpass-url", "use --password-file (re-read at every sync)"),
        GitSyncFlag.Refused("credential", "use --username with --password-file"),
        GitSyncFlag.Refused("github-base-url", "GitHub app authentication is not available; use a token with --password-file"),
        GitSyncFlag.Refused("github-app-private-key-file", "GitHub app authentication is not available; use a token with --password-file"),
        GitSyncFlag.Refused("github-app-client-id", "GitHub app authentication is not available; use a token with --password-file"),
        GitSyncFlag.Refused("github-app-application-id", "GitHub app authentication is not available; use a token with --password-file"),
        GitSyncFlag.Refused("github-app-installation-id", "GitHub app authentication is not available; use a token with --password-file"),
        GitSyncFlag.Refused("sync-on-signal", "ask for a sync with POST /sync/git-sync on --http-bind instead"),
        GitSyncFlag.Refused("http-pprof", "there are no pprof endpoints"),
        GitSyncFlag.Refused("webhook-backoff", "webhooks are retried with ConfigSync's exponential backoff"),
        GitSyncFlag.Refused("exechook-backoff", "exec hooks are retried with ConfigSync's exponential backoff"),
        GitSyncFlag.Refused("password", "secrets are never taken from the command line: use --password-file or $GITSYNC_PASSWORD"),
        GitSyncFlag.Refused("change-permissions", "git-sync v4 dropped it too: use --group-write"),
        GitSyncFlag.Refused("ssh", "git-sync v4 dropped it too: ssh is used for ssh URLs"),
        GitSyncFlag.Refused("man", "see the README's git-sync section"),
    ];

    // Every name the drop-in knows, v4 and v3, to its row. After the table: static fields start in the order written.
    private static readonly Dictionary<string, GitSyncFlag> ByName = Table
        .SelectMany(flag => flag.V3Names.Prepend(flag.Name).Select(name => KeyValuePair.Create(name, flag)))
        .ToDictionary(StringComparer.Ordinal);

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
        foreach (var flag in Table.Where(f => f.Kind != GitSyncFlagKind.Refused))
        {
            text.Append(flag.HelpLine);
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
        var oneTime = Bool(values, "one-time", errors);
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

                if (Resolve(name, out var flag, out var reason))
                {
                    values[flag.Name] = Convert(name, flag, (string)environment[key]!);
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

            if (!Resolve(name, out var flag, out var reason))
            {
                errors.Add($"--{name}: {reason}");
                if (value is null && i + 1 < args.Count && !args[i + 1].StartsWith('-'))
                {
                    i++; // its value (perhaps a secret, as with --password): skipped, never echoed
                }

                continue;
            }

            if (value is null && flag.Kind == GitSyncFlagKind.Bool)
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

            if (flag.Name == "ssh-key-file" && ++keyFiles > 1)
            {
                errors.Add("--ssh-key-file: ConfigSync takes one SSH key; give the flag once");
            }

            values[flag.Name] = Convert(name, flag, value);
        }

        return false;
    }

    /// <summary>The flag a v4 or v3 name stands for; false, with the reason, when the drop-in does not take it.</summary>
    private static bool Resolve(string name, [NotNullWhen(true)] out GitSyncFlag? flag, out string reason)
    {
        var known = ByName.GetValueOrDefault(name);
        flag = known is { Kind: not GitSyncFlagKind.Refused } ? known : null;
        reason = known is null ? "is not a git-sync v4 flag (run 'configsync --repo x --help' for the flags the drop-in takes)" : known.Refusal;
        return flag is not null;
    }

    // The v3 names with other units: --wait is float seconds, --timeout integer seconds.
    private static string Convert(string name, GitSyncFlag flag, string value) =>
        flag.V3InSeconds && name != flag.Name && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
            ? seconds.ToString(CultureInfo.InvariantCulture) + "s"
            : value;

    /// <summary>The flag's value, else its default (null when it has none).</summary>
    private static string? Text(Dictionary<string, string> values, string name) =>
        values.TryGetValue(name, out var value) ? value : ByName[name].Default;

    private static int Int(Dictionary<string, string> values, string name, List<string> errors)
    {
        var defaultValue = int.Parse(ByName[name].Default ?? "0", CultureInfo.InvariantCulture);
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
    private static bool Bool(Dictionary<string, string> values, string name, List<string> errors)
    {
        var defaultValue = ByName[name].Default == "true";
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
