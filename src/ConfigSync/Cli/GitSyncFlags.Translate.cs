using System.Globalization;
using ConfigSync.Configuration;
using ConfigSync.Sources.Git;

namespace ConfigSync.Cli;

/// <summary>The git-sync drop-in's translation: git-sync's flag values into ConfigSync configuration keys, with git-sync's meaning.</summary>
internal static partial class GitSyncFlags
{
    private static void Translate(Dictionary<string, string> values, string? passwordEnv, Dictionary<string, string?> config, List<string> errors)
    {
        var repo = Text(values, "repo");
        var root = Text(values, "root");
        if (string.IsNullOrEmpty(root))
        {
            errors.Add("--root: required flag: --root must be specified");
        }

        if (string.IsNullOrEmpty(repo))
        {
            errors.Add("--repo: required flag: --repo must be specified");
        }

        if (string.IsNullOrEmpty(root) || string.IsNullOrEmpty(repo))
        {
            return;
        }

        var rootPath = Path.GetFullPath(root);
        config[Sync + "name"] = SyncName;
        config[Sync + "source:type"] = "git";
        Set(config, "repo", repo);

        // The link, as git-sync places it: absolute, or relative to --root, only its last part a symlink.
        // ConfigSync keeps its trees beside the link, so the link's folder becomes the target root.
        var link = Text(values, "link") is { Length: > 0 } l ? l : repo.Trim('/').Split('/')[^1];
        var linkPath = Path.GetFullPath(link, rootPath).TrimEnd('/');
        Set(config, "root", Path.GetDirectoryName(linkPath));
        Set(config, "link", Path.GetFileName(linkPath));
        if (Bool(values, "group-write", errors))
        {
            Set(config, "group-write", "true");
        }

        if (Text(values, "ref") is { Length: > 0 } gitRef && gitRef != ByName["ref"].Default)
        {
            Set(config, "ref", gitRef);
        }

        // git-sync's default depth is 1; libgit2 cannot fetch shallow from a local path, so there the default is the whole history.
        if (values.ContainsKey("depth") || GitUrl.Classify(repo) != GitTransport.Local)
        {
            Set(config, "depth", Int(values, "depth", errors).ToString(CultureInfo.InvariantCulture));
        }

        var submodules = Text(values, "submodules");
        if (submodules == "shallow")
        {
            errors.Add("--submodules: 'shallow' is not supported: ConfigSync publishes submodules recursively (recursive) or not at all (off)");
        }
        else
        {
            Set(config, "submodules", submodules);
        }

        Auth(values, passwordEnv, repo, config, errors);

        Set(config, "period", Text(values, "period"));
        config[Sync + "jitter"] = "0";
        Set(config, "sync-timeout", Text(values, "sync-timeout"));

        // git-sync exits when the failures in a row reach --max-failures (so 0 and 1 both exit at the first); negative never.
        var maxFailures = Int(values, "max-failures", errors);
        config[Sync + "maxFailures"] = (maxFailures < 0 ? 0 : Math.Max(1, maxFailures)).ToString(CultureInfo.InvariantCulture);

        if (Text(values, "touch-file") is { Length: > 0 } touch)
        {
            Set(config, "touch-file", Path.GetFullPath(touch, rootPath));
        }

        if (Text(values, "error-file") is { Length: > 0 } error)
        {
            Set(config, "error-file", Path.GetFullPath(error, rootPath));
        }

        Hooks(values, config, errors);

        var bind = Text(values, "http-bind");
        if (string.IsNullOrEmpty(bind) && Bool(values, "http-metrics", errors))
        {
            errors.Add("--http-metrics: required flag: --http-bind must be specified when --http-metrics is set");
        }

        Set(config, "http-bind", string.IsNullOrEmpty(bind) ? HttpSettings.Off : bind.StartsWith(':') ? "0.0.0.0" + bind : bind);
        var verbose = Int(values, "verbose", errors);
        config["log:level"] = verbose >= 5 ? "trace" : verbose >= 2 ? "debug" : "info";
    }

    private static void Auth(Dictionary<string, string> values, string? passwordEnv, string repo, Dictionary<string, string?> config, List<string> errors)
    {
        var username = Text(values, "username");
        var passwordFile = Text(values, "password-file");
        if (!string.IsNullOrEmpty(username))
        {
            Set(config, "username", username);
            if (passwordFile is null && passwordEnv is null)
            {
                errors.Add("--username: required flag: $GITSYNC_PASSWORD or --password-file must be specified when --username is specified");
            }
            else if (passwordFile is not null && passwordEnv is not null)
            {
                errors.Add($"--password-file: only one of ${passwordEnv} and --password-file may be specified");
            }

            if (passwordFile is not null)
            {
                Set(config, "password-file", passwordFile);
            }
            else
            {
                config[Sync + "source:auth:passwordEnv"] = passwordEnv;
            }
        }
        else if (passwordFile is not null || passwordEnv is not null)
        {
            errors.Add(passwordFile is not null
                ? "--password-file: may only be specified when --username is specified"
                : $"${passwordEnv}: may only be specified when --username is specified");
        }

        if (GitUrl.Classify(repo) != GitTransport.Ssh)
        {
            return;
        }

        Set(config, "ssh-key-file", Text(values, "ssh-key-file"));
        if (Bool(values, "ssh-known-hosts", errors))
        {
            Set(config, "ssh-known-hosts-file", Text(values, "ssh-known-hosts-file"));
        }
        else
        {
            config[Sync + "source:auth:strictHostKeyChecking"] = "false";
        }
    }

    private static void Hooks(Dictionary<string, string> values, Dictionary<string, string?> config, List<string> errors)
    {
        if (Text(values, "webhook-url") is { Length: > 0 } url)
        {
            Set(config, "webhook-url", url);
            Set(config, "webhook-method", Text(values, "webhook-method"));
            var status = Int(values, "webhook-success-status", errors);
            Set(config, "webhook-success-status", (status == -1 ? 0 : status).ToString(CultureInfo.InvariantCulture), item: true);
            Set(config, "webhook-timeout", Text(values, "webhook-timeout"));
            config[Sync + "signal:headers:Gitsync-Hash"] = RevisionTemplate.Revision;
        }

        if (Text(values, "exechook-command") is { Length: > 0 } command)
        {
            Set(config, "exechook-command", command, item: true);
            Set(config, "exechook-timeout", Text(values, "exechook-timeout"));
            config[Sync + "signal:exec:workingDirectory"] = "tree";
            config[Sync + "signal:exec:env:GITSYNC_HASH"] = RevisionTemplate.Revision;
        }
    }

    /// <summary>Sets the flag's setting (<see cref="GitSyncFlag.Setting"/>; with <paramref name="item"/>, the list's first item).</summary>
    private static void Set(Dictionary<string, string?> config, string flag, string? value, bool item = false) =>
        config[ByName[flag].Setting! + (item ? ":0" : string.Empty)] = value;

    /// <summary>A loader error about a setting a flag carries, named by the flag.</summary>
    public static string ToFlags(string error)
    {
        foreach (var flag in Table)
        {
            if (flag.SettingName is { } key && error.StartsWith(key + ":", StringComparison.Ordinal))
            {
                return "--" + flag.Name + error[key.Length..];
            }
        }

        return error;
    }
}

/// <summary>What the git-sync flags came to.</summary>
/// <param name="Configuration">ConfigSync configuration keys.</param>
/// <param name="OneTime">Whether to sync once and exit (<c>--one-time</c>).</param>
/// <param name="Help">Whether usage was asked for.</param>
/// <param name="Errors">Every unsupported or bad flag, named.</param>
internal sealed record GitSyncTranslation(Dictionary<string, string?> Configuration, bool OneTime, bool Help, IReadOnlyList<string> Errors);
