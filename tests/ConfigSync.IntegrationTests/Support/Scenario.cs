using System.Globalization;

namespace ConfigSync.IntegrationTests.Support;

/// <summary>A temp folder with a source folder, a target root and a config file for one <c>dir</c> sync.</summary>
public sealed class Scenario : IDisposable
{
    public Scenario()
    {
        Port = AppListener.FreePort();
    }

    public TempFolder Temp { get; } = new();

    public int Port { get; }

    public string Source => Temp.Combine("source");

    public string Root => Temp.Combine("volume");

    public string Live => Path.Combine(Root, "current");

    public string ConfigFile => Temp.Combine("configsync.yaml");

    public string WriteConfig(string interval = "1s", string? signalUrl = null, string extraSync = "", string extraTop = "")
    {
        var signal = signalUrl is null ? string.Empty : $"""
                signal:
                  url: {signalUrl}
                  timeout: 2s
            """;
        File.WriteAllText(ConfigFile, string.Create(CultureInfo.InvariantCulture, $"""
            http:
              listen: "127.0.0.1:{Port}"
            {extraTop}
            syncs:
              - name: app
                source:
                  type: dir
                  path: source
                target:
                  root: volume
                  grace: 1s
                interval: {interval}
            {signal}
            {extraSync}
            """));
        return ConfigFile;
    }

    /// <summary>
    /// Writes a configuration with one sync named <c>app</c> on <paramref name="source"/> (YAML of the
    /// source block, unindented), publishing to <c>volume</c>; <paramref name="sync"/> and
    /// <paramref name="target"/> add settings to the sync and its target.
    /// </summary>
    public string WriteSourceConfig(string source, string sync = "interval: 1h", string target = "")
    {
        File.WriteAllText(ConfigFile, string.Create(CultureInfo.InvariantCulture, $"""
            http:
              listen: "127.0.0.1:{Port}"
            syncs:
              - name: app
                source:
            {Indent(source, 6)}
                target:
                  root: volume
            {Indent(target, 6)}
            {Indent(sync, 4)}
            """));
        return ConfigFile;
    }

    public void Dispose() => Temp.Dispose();

    public static string Indent(string yaml, int spaces) =>
        string.Join('\n', yaml.Split('\n').Select(line => line.Length == 0 ? line : new string(' ', spaces) + line));
}
