using System.Globalization;
using ConfigSync.Configuration;
using ConfigSync.Sources.Git;

namespace ConfigSync.Cli;

/// <summary>The git-sync drop-in's translation: git-sync's flag values into ConfigSync configuration keys, with git-sync's meaning.</summary>
internal static partial class GitSyncFlags
{
    private static void Translate(Dictionary<string, string> values, string? passwordEnv, Dictionary<string, string?> config, List<string> errors)
    {
        var repo = values.GetValueOrDefault("repo");
        var root = values.GetValueOrDefault("root");
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

        var rootPath = Path.GetFullPath(root!);
        var prefix = $"syncs:0:";
        config[prefix + "name"] = SyncName;
        config[prefix + "source:type"] = "git";
        config[prefix + "source:url"] = repo;

        // The link, as git-sync places it: absolute, or relative to --root, only its last part a symlink.
        // ConfigSync keeps its trees beside the link, so the link's folder becomes the target root.
        var link = values.GetValueOrDefault("link") is { Length: > 0 } l ? l : repo!.Trim('/').Split('/')[^1];
        var linkPath = Path.GetFullPath(link, rootPath).TrimEnd('/');
        config[prefix + "target:root"] = Path.GetDirectoryName(linkPath);
        config[prefix + "target:link"] = Path.GetFileName(linkPath);
        if (Bool(values, "group-write", false, errors))
        {
            config[prefix + "target:groupWrite"] = "true";
        }

        if (values.GetValueOrDefault("ref") is { Length: > 0 } gitRef && gitRef != "HEAD")
        {
            config[prefix + "source:ref"] = gitRef;
        }

        // git-sync's default depth is 1; libgit2 cannot fetch shallow from a local path, so there the default is the whole history.
        if (values.ContainsKey("depth") || GitUrl.Classify(repo!) != GitTransport.Local)
        {
            config[prefix + "source:depth"] = Int(values, "depth", 1, errors).ToString(CultureInfo.InvariantCulture);
        }

        var submodules = values.GetValueOrDefault("submodules", "recursive");
        if (submodules == "shallow")
        {
            errors.Add("--submodules: 'shallow' is not supported: ConfigSync publishes submodules recursively (recursive) or not at all (off)");
        }
        else
        {
            config[prefix + "source:submodules"] = submodules;
        }

        Auth(values, passwordEnv, repo!, prefix + "source:auth:", config, errors);

        config[prefix + "interval"] = Duration(values, "period", "10s");
        config[prefix + "jitter"] = "0";
        config[prefix + "timeout"] = Duration(values, "sync-timeout", "120s");

        // git-sync exits when the failures in a row reach --max-failures (so 0 and 1 both exit at the first); negative never.
        var maxFailures = Int(values, "max-failures", 0, errors);
        config[prefix + "maxFailures"] = (maxFailures < 0 ? 0 : Math.Max(1, maxFailures)).ToString(CultureInfo.InvariantCulture);

        if (values.GetValueOrDefault("touch-file") is { Length: > 0 } touch)
        {
            config[prefix + "touchFile"] = Path.GetFullPath(touch, rootPath);
        }

        if (values.GetValueOrDefault("error-file") is { Length: > 0 } error)
        {
            config[prefix + "errorFile"] = Path.GetFullPath(error, rootPath);
        }

        Hooks(values, prefix + "signal:", config, errors);

        var bind = values.GetValueOrDefault("http-bind");
        if (string.IsNullOrEmpty(bind) && Bool(values, "http-metrics", false, errors))
        {
            errors.Add("--http-metrics: required flag: --http-bind must be specified when --http-metrics is set");
        }

        config["http:listen"] = string.IsNullOrEmpty(bind) ? HttpSettings.Off : bind.StartsWith(':') ? "0.0.0.0" + bind : bind;
        var verbose = Int(values, "verbose", 0, errors);
        config["log:level"] = verbose >= 5 ? "trace" : verbose >= 2 ? "debug" : "info";
    }

    private static void Auth(Dictionary<string, string> values, string? passwordEnv, string repo, string prefix, Dictionary<string, string?> config, List<string> errors)
    {
        var username = values.GetValueOrDefault("username");
        var passwordFile = values.GetValueOrDefault("password-file");
        if (!string.IsNullOrEmpty(username))
        {
            config[prefix + "username"] = username;
            if (passwordFile is null && passwordEnv is null)
            {
                errors.Add("--username: required flag: $GITSYNC_PASSWORD or --password-file must be specified when --username is specified");
            }
            else if (passwordFile is not null && passwordEnv is not null)
            {
                errors.Add($"--password-file: only one of ${passwordEnv} and --password-file may be specified");
            }

            config[passwordFile is not null ? prefix + "passwordFile" : prefix + "passwordEnv"] = passwordFile ?? passwordEnv;
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

        config[prefix + "sshKeyFile"] = values.GetValueOrDefault("ssh-key-file", "/etc/git-secret/ssh");
        if (Bool(values, "ssh-known-hosts", true, errors))
        {
            config[prefix + "knownHostsFile"] = values.GetValueOrDefault("ssh-known-hosts-file", "/etc/git-secret/known_hosts");
        }
        else
        {
            config[prefix + "strictHostKeyChecking"] = "false";
        }
    }

    private static void Hooks(Dictionary<string, string> values, string prefix, Dictionary<string, string?> config, List<string> errors)
    {
        if (values.GetValueOrDefault("webhook-url") is { Length: > 0 } url)
        {
            config[prefix + "url"] = url;
            config[prefix + "method"] = values.GetValueOrDefault("webhook-method", "POST");
            var status = Int(values, "webhook-success-status", 200, errors);
            config[prefix + "successStatus:0"] = (status == -1 ? 0 : status).ToString(CultureInfo.InvariantCulture);
            config[prefix + "timeout"] = Duration(values, "webhook-timeout", "1s");
            config[prefix + "headers:Gitsync-Hash"] = "{revision}";
        }

        if (values.GetValueOrDefault("exechook-command") is { Length: > 0 } command)
        {
            config[prefix + "exec:command:0"] = command;
            config[prefix + "exec:timeout"] = Duration(values, "exechook-timeout", "30s");
            config[prefix + "exec:workingDirectory"] = "tree";
            config[prefix + "exec:env:GITSYNC_HASH"] = "{revision}";
        }
    }

    /// <summary>The configuration key a loader error names, as the git-sync flag that set it.</summary>
    public static string ToFlags(string error)
    {
        (string Key, string Flag)[] names =
        [
            ("syncs[0].source.url", "--repo"), ("syncs[0].source.ref", "--ref"), ("syncs[0].source.depth", "--depth"),
            ("syncs[0].source.auth.passwordFile", "--password-file"), ("syncs[0].source.auth.sshKeyFile", "--ssh-key-file"),
            ("syncs[0].source.auth.knownHostsFile", "--ssh-known-hosts-file"), ("syncs[0].source.submodules", "--submodules"),
            ("syncs[0].target.link", "--link"), ("syncs[0].target.root", "--root"), ("syncs[0].interval", "--period"),
            ("syncs[0].timeout", "--sync-timeout"), ("syncs[0].signal.url", "--webhook-url"), ("syncs[0].signal.method", "--webhook-method"),
            ("syncs[0].signal.successStatus", "--webhook-success-status"), ("syncs[0].signal.timeout", "--webhook-timeout"),
            ("syncs[0].signal.exec.timeout", "--exechook-timeout"), ("http.listen", "--http-bind"),
        ];
        foreach (var (key, flag) in names)
        {
            if (error.StartsWith(key + ":", StringComparison.Ordinal))
            {
                return flag + error[key.Length..];
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
