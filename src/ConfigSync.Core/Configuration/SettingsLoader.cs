using System.Globalization;
using System.Text.RegularExpressions;
using ConfigSync.Sources;
using Microsoft.Extensions.Configuration;

namespace ConfigSync.Configuration;

/// <summary>
/// Turns configuration (file, environment, flags) into validated <see cref="DaemonSettings"/>,
/// collecting every problem, each naming its setting. A setting left out takes the default its settings
/// type declares (read from the type's <c>Defaults</c>); no default is written here.
/// </summary>
public static partial class SettingsLoader
{
    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\z", RegexOptions.CultureInvariant)]
    private static partial Regex SyncName();

    /// <summary>Reads and validates. Returns the settings, or <c>null</c> and at least one error.</summary>
    /// <param name="configuration">The merged configuration.</param>
    /// <param name="factories">The registered source factories.</param>
    /// <param name="baseDirectory">Folder relative paths are resolved against (the config file's).</param>
    /// <param name="errors">Every problem found, each naming its setting.</param>
    public static DaemonSettings? Load(IConfiguration configuration, IEnumerable<ISourceFactory> factories, string baseDirectory, out IReadOnlyList<string> errors)
    {
        var list = new List<string>();
        var root = new SettingsReader(configuration, string.Empty, list);
        var byType = factories.ToDictionary(f => f.Type, StringComparer.OrdinalIgnoreCase);

        var http = ReadHttp(root.Section("http"), baseDirectory);
        var logReader = root.Section("log");
        var log = new LogSettings(
            logReader.Choice("format", LogSettings.Defaults.Format, "console", "json"),
            logReader.Choice("level", LogSettings.Defaults.Level, "trace", "debug", "info", "warn", "error"));

        var syncs = new List<SyncSettings>();
        var items = root.Items("syncs");
        if (items.Count == 0)
        {
            root.Error("syncs", "at least one sync is required (in the config file, or --source with its flags)");
        }

        foreach (var item in items)
        {
            if (ReadSync(item, byType, baseDirectory) is { } sync)
            {
                syncs.Add(sync);
            }
        }

        var stateDir = root.String("stateDir") is { } state ? Path.GetFullPath(state, baseDirectory) : DaemonSettings.DefaultStateDir();
        CheckAcrossSyncs(syncs, list);
        root.ReportUnknownKeys();
        errors = list;
        return list.Count == 0 ? new DaemonSettings(http, log, syncs) { StateDir = stateDir } : null;
    }

    private static HttpSettings ReadHttp(SettingsReader reader, string baseDirectory)
    {
        var listen = reader.String("listen", HttpSettings.DefaultListen)!;
        var token = reader.String("triggerTokenFile");
        if (listen == HttpSettings.Off)
        {
            return new HttpSettings(string.Empty, 0, token is null ? null : Path.GetFullPath(token, baseDirectory));
        }

        var host = string.Empty;
        var port = 0;
        var colon = listen.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(listen.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
        {
            reader.Error("listen", $"'{listen}' is not HOST:PORT (for example 0.0.0.0:8081 or 127.0.0.1:8081) or off");
        }
        else
        {
            host = listen[..colon].Trim('[', ']');
            if (host.Length == 0 || host == "*")
            {
                host = "0.0.0.0";
            }
            else if (host != "localhost" && !System.Net.IPAddress.TryParse(host, out _))
            {
                reader.Error("listen", $"'{host}' is not an IP address or localhost");
            }
        }

        return new HttpSettings(host, port, token is null ? null : Path.GetFullPath(token, baseDirectory));
    }

    private static SyncSettings? ReadSync(SettingsReader reader, Dictionary<string, ISourceFactory> factories, string baseDirectory)
    {
        var before = reader.Errors.Count;
        var name = reader.RequiredString("name");
        if (name.Length > 0 && !SyncName().IsMatch(name))
        {
            reader.Error("name", $"'{name}' must be 1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit");
        }

        var sourceReader = reader.Section("source");
        var type = sourceReader.RequiredString("type").ToLowerInvariant();
        SourceDefinition? source = null;
        if (type.Length > 0)
        {
            if (factories.TryGetValue(type, out var factory))
            {
                source = new SourceDefinition(type, factory, factory.ReadOptions(sourceReader, baseDirectory));
            }
            else
            {
                sourceReader.Error("type", $"'{type}' is not one of: {string.Join(", ", factories.Keys.Order(StringComparer.Ordinal))}");
                sourceReader.KnownAll();
            }
        }

        var defaults = SyncSettings.Defaults;
        var publish = reader.Has("publish") ? ReadPublish(reader.Section("publish"), factories, baseDirectory) : null;
        if (reader.Has("publish") && reader.Has("target"))
        {
            reader.Error("target", "a sync with 'publish' writes into a bucket or container, not a volume: remove target, or publish from another sync");
        }

        if (reader.Has("publish"))
        {
            // What acts on a volume or the app has no meaning for a publisher: refused, never silently ignored.
            foreach (var key in new[] { "signal", "validate", "webhook", "decrypt", "include", "exclude", "touchFile", "errorFile", "maxStaleness" }.Where(reader.Has))
            {
                reader.Error(key, "applies to syncs that write a volume; a sync with 'publish' writes the whole source into the store: set it on the syncs that read the index");
            }
        }

        var target = reader.Has("publish") ? TargetSettings.Defaults : ReadTarget(reader.Section("target"), baseDirectory);
        var interval = reader.Duration("interval", defaults.Interval, TimeSpan.FromMilliseconds(100));
        var jitter = reader.Double("jitter", defaults.Jitter, 0, 1);
        var timeout = reader.Duration("timeout", defaults.Timeout, TimeSpan.FromMilliseconds(100));
        var maxFailures = reader.Int("maxFailures", defaults.MaxFailures, min: 0);
        var maxStaleness = reader.Duration("maxStaleness", defaults.MaxStaleness);
        var include = reader.List("include", defaults.Include);
        var exclude = reader.List("exclude", defaults.Exclude);
        var limits = reader.Section("limits");
        var maxFiles = limits.Int("maxFiles", defaults.MaxFiles, min: 1);
        var maxBytes = limits.Bytes("maxBytes", defaults.MaxBytes);
        var signal = ReadSignal(reader.Section("signal"));
        var checks = reader.Items("validate").Select(item => ReadCheck(item, baseDirectory)).ToList();
        var webhook = reader.Has("webhook") ? ReadWebhook(reader.Section("webhook"), baseDirectory) : null;
        var decrypt = reader.Has("decrypt") ? ReadDecrypt(reader.Section("decrypt"), baseDirectory) : null;
        var touchFile = reader.String("touchFile") is { } touch ? Path.GetFullPath(touch, target.Root.Length > 0 ? target.Root : baseDirectory) : null;
        var errorFile = reader.String("errorFile") is { } error ? Path.GetFullPath(error, target.Root.Length > 0 ? target.Root : baseDirectory) : null;
        if (target.Layout == TreeLayout.Copy && signal.Verify is { Rollback: true })
        {
            reader.Error("signal.verify.rollback", "needs target.layout link or kubelet: layout copy keeps no previous tree to roll back to");
        }

        if (maxStaleness > TimeSpan.Zero && maxStaleness <= interval)
        {
            reader.Error("maxStaleness", $"must be longer than the interval ({DurationParser.Format(interval)}), or 0s to turn it off");
        }

        if (reader.Errors.Count > before || source is null)
        {
            return null;
        }

        return new SyncSettings
        {
            Name = name,
            Source = source,
            Target = target,
            Interval = interval,
            Jitter = jitter,
            Timeout = timeout,
            MaxFailures = maxFailures,
            MaxStaleness = maxStaleness,
            Include = include.Count == 0 ? defaults.Include : include,
            Exclude = exclude,
            MaxFiles = maxFiles,
            MaxBytes = maxBytes,
            Signal = signal,
            Validate = checks,
            Webhook = webhook,
            Decrypt = decrypt,
            Publish = publish,
            TouchFile = touchFile,
            ErrorFile = errorFile,
        };
    }

    private static TargetSettings ReadTarget(SettingsReader reader, string baseDirectory)
    {
        var defaults = TargetSettings.Defaults;
        var root = reader.RequiredString("root");
        var link = reader.String("link", defaults.Link)!;
        if (link.Contains('/', StringComparison.Ordinal) || link is "." or ".." || link.StartsWith(".configsync", StringComparison.Ordinal) || link.Contains('\0', StringComparison.Ordinal))
        {
            reader.Error("link", $"'{link}' must be a plain name inside the root (no '/', not '.', '..' or '.configsync')");
        }

        var layout = reader.Choice("layout", defaults.Layout);
        var fullRoot = root.Length == 0 ? string.Empty : Path.GetFullPath(root, baseDirectory);
        if (fullRoot.Length > 0 && File.Exists(fullRoot))
        {
            reader.Error("root", $"'{fullRoot}' is a file; the root must be a folder (or not exist yet)");
        }

        return new TargetSettings
        {
            Root = fullRoot,
            Link = link,
            Layout = layout,
            FileMode = reader.Mode("fileMode", defaults.FileMode),
            DirMode = CheckDirMode(reader, reader.Mode("dirMode", defaults.DirMode)),
            GroupWrite = reader.Bool("groupWrite", defaults.GroupWrite),
            Keep = reader.Int("keep", defaults.Keep, min: 0, max: 1000),
            Grace = reader.Duration("grace", defaults.Grace),
            ManifestInTree = reader.Bool("manifestInTree", defaults.ManifestInTree),
        };
    }

    private static UnixFileMode CheckDirMode(SettingsReader reader, UnixFileMode mode)
    {
        if ((mode & UnixFileMode.UserExecute) == 0 || (mode & UnixFileMode.UserRead) == 0)
        {
            reader.Error("dirMode", "must let the owner read and enter folders (u+rx)");
        }

        return mode;
    }

    private static SignalSettings ReadSignal(SettingsReader reader)
    {
        var defaults = SignalSettings.Defaults;
        Uri? url = null;
        if (reader.String("url") is { } text && UrlCredentials.Check(reader, "url", text, "better, send them in an Authorization header (signal.headers)"))
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out url) || url.Scheme is not ("http" or "https"))
            {
                reader.Error("url", $"'{Diagnostics.Redact.Url(text)}' is not an absolute http:// or https:// URL");
                url = null;
            }
        }

        var method = reader.String("method", defaults.Method)!.ToUpperInvariant();
        if (method is not ("POST" or "PUT" or "GET" or "PATCH"))
        {
            reader.Error("method", $"'{method}' is not one of: POST, PUT, GET, PATCH");
        }

        var statuses = new List<int>();
        foreach (var status in reader.List("successStatus", []))
        {
            if (!int.TryParse(status, NumberStyles.None, CultureInfo.InvariantCulture, out var code) || (code is < 100 or > 599 && code != 0))
            {
                reader.Error("successStatus", $"'{status}' is not an HTTP status code (or 0 for any answer)");
                continue;
            }

            statuses.Add(code);
        }

        var exec = reader.Section("exec");
        var verify = reader.Has("verify") ? ReadVerify(reader.Section("verify")) : null;
        var headers = reader.Map("headers");
        foreach (var (name, value) in headers)
        {
            // An Authorization or API-key header carries a credential: it is never printed.
            if (name.Contains("auth", StringComparison.OrdinalIgnoreCase) || name.Contains("token", StringComparison.OrdinalIgnoreCase)
                || name.Contains("key", StringComparison.OrdinalIgnoreCase) || name.Contains("secret", StringComparison.OrdinalIgnoreCase)
                || name.Contains("cookie", StringComparison.OrdinalIgnoreCase))
            {
                Diagnostics.Redact.Register(value);
                Diagnostics.Redact.Register(value.Split(' ', 2) is [_, var credential] ? credential : null);
            }
        }

        return new SignalSettings
        {
            Verify = verify,
            Url = url,
            Method = method,
            Headers = headers,
            SuccessStatus = statuses,
            Timeout = reader.Duration("timeout", defaults.Timeout, TimeSpan.FromMilliseconds(10)),
            SkipFirst = reader.Bool("skipFirst", defaults.SkipFirst),
            ExecCommand = exec.List("command", defaults.ExecCommand),
            ExecTimeout = exec.Duration("timeout", defaults.ExecTimeout, TimeSpan.FromMilliseconds(10)),
            ExecEnv = exec.Map("env"),
            ExecInTree = exec.Choice("workingDirectory", defaults.ExecInTree ? "tree" : "root", "root", "tree") == "tree",
        };
    }

    private static ReloadVerifySettings? ReadVerify(SettingsReader reader)
    {
        var text = reader.RequiredString("url");
        Uri? url = null;
        if (text.Length > 0 && UrlCredentials.Check(reader, "url", text) && !RevisionTemplate.TryParseUrl(text, out url, out var problem))
        {
            reader.Error("url", $"'{Diagnostics.Redact.Url(text)}' {problem}");
        }

        var field = reader.String("field");
        var header = reader.String("header");
        if (field is not null && header is not null)
        {
            reader.Error("header", "set either signal.verify.field or signal.verify.header, not both");
        }

        var defaults = ReloadVerifySettings.Defaults;
        var interval = reader.Duration("interval", defaults.Interval, TimeSpan.FromMilliseconds(10));
        var timeout = reader.Duration("timeout", defaults.Timeout, TimeSpan.FromMilliseconds(10));
        var rollback = reader.Bool("rollback", defaults.Rollback);
        return url is null ? null : new ReloadVerifySettings { Url = url, Field = field, Header = header, Interval = interval, Timeout = timeout, Rollback = rollback };
    }

    private static void CheckAcrossSyncs(List<SyncSettings> syncs, List<string> errors)
    {
        foreach (var group in syncs.GroupBy(s => s.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            errors.Add($"syncs: the name '{group.Key}' is used by {group.Count()} syncs; names must be unique");
        }

        // One folder, however it is written: canonically (links resolved, no trailing '/'). A root inside
        // another sync's root is allowed (each sync owns only its link and .configsync folder).
        // An existing folder is known by device and inode, so a bind mount of it under another path is the same root too.
        foreach (var group in syncs.Where(s => s.Target.Root.Length > 0).GroupBy(s => CanonicalPath.Identity(s.Target.Root), StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            var canonical = CanonicalPath.Of(group.First().Target.Root);
            var written = group.Select(s => s.Target.Root).Distinct(StringComparer.Ordinal).ToList();
            var spellings = written.Count == 1 && written[0] == canonical ? string.Empty : $" (written {string.Join(", ", written.Select(w => $"'{w}'"))}: the same folder)";
            errors.Add($"syncs: target.root '{canonical}' is shared by syncs {string.Join(", ", group.Select(s => s.Name))}{spellings}; give each sync its own root");
        }
    }
}
