using System.CommandLine;
using ConfigSync.Hosting;
using ConfigSync.Configuration;

namespace ConfigSync.Cli;

/// <summary>The flags that set up the daemon, or a single sync, without a config file. Each maps to a configuration key.</summary>
internal sealed class SyncFlags
{
    // The name of a sync set up by flags alone.
    private const string DefaultName = "default";

    private readonly List<(Option Option, string Key, bool IsPath)> _options = [];

    public SyncFlags()
    {
        Config = new Option<string?>("--config", "-c") { Description = "Configuration file (YAML or JSON)." };
        Add("--listen", "http:listen", $"HOST:PORT of the HTTP surface (default {HttpSettings.DefaultListen}).");
        Add("--trigger-token-file", "http:triggerTokenFile", "File holding the bearer token for POST /sync from other hosts.", isPath: true);
        Add("--log-format", "log:format", "console or json.");
        Add("--log-level", "log:level", "trace, debug, info, warn or error.");
        Add("--name", "syncs:0:name", $"Name of the sync set up by flags (default: '{DefaultName}').");
        Add("--source", "syncs:0:source:type", $"Source type of a sync set up by flags: {SourceCatalog.TypeList}.");
        Add("--url", "syncs:0:source:url", "Source URL.");
        Add("--ref", "syncs:0:source:ref", "Branch, tag or commit.");
        Add("--path", "syncs:0:source:path", "For dir: the folder; for git: a subdirectory.");
        Add("--root", "syncs:0:target:root", "Target root folder (the shared volume).", isPath: true);
        Add("--link", "syncs:0:target:link", $"Name of the live link in the root (default {TargetSettings.Defaults.Link}).");
        Add("--layout", "syncs:0:target:layout", "link, kubelet or copy.");
        Add("--interval", "syncs:0:interval", "Time between polls, e.g. 30s.");
        Add("--timeout", "syncs:0:timeout", "Time limit of one sync, e.g. 2m.");
        Add("--max-failures", "syncs:0:maxFailures", "Failures in a row before exit 1 (0 = never).");
        Add("--signal-url", "syncs:0:signal:url", "URL the app is signalled at after each publish.");
        Add("--signal-method", "syncs:0:signal:method", $"HTTP method of the signal (default {SignalSettings.Defaults.Method}).");
    }

    public Option<string?> Config { get; }

    public void AddTo(Command command)
    {
        command.Options.Add(Config);
        foreach (var (option, _, _) in _options)
        {
            command.Options.Add(option);
        }
    }

    /// <summary>The configuration keys the given flags set.</summary>
    public Dictionary<string, string?> ToConfiguration(ParseResult result)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (option, key, isPath) in _options)
        {
            if (result.GetValue((Option<string?>)option) is { } value)
            {
                values[key] = isPath ? Path.GetFullPath(value) : value;
            }
        }

        if (values.TryGetValue("syncs:0:source:type", out var type))
        {
            values.TryAdd("syncs:0:name", DefaultName);
            if (type == "dir" && values.TryGetValue("syncs:0:source:path", out var folder) && folder is not null)
            {
                values["syncs:0:source:path"] = Path.GetFullPath(folder);
            }
        }

        return values;
    }

    private void Add(string name, string key, string description, bool isPath = false) =>
        _options.Add((new Option<string?>(name) { Description = description }, key, isPath));
}
