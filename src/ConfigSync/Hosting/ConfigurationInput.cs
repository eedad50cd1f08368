using ConfigSync.Configuration;
using Microsoft.Extensions.Configuration;

namespace ConfigSync.Hosting;

/// <summary>
/// Gathers configuration in order of precedence: the YAML/JSON file, then <c>CONFIGSYNC_*</c>
/// environment variables (<c>CONFIGSYNC_SYNCS__0__SOURCE__URL</c>), then command-line flags.
/// </summary>
internal sealed class ConfigurationInput
{
    public string? ConfigFile { get; init; }

    public IReadOnlyDictionary<string, string?> Flags { get; init; } = new Dictionary<string, string?>();

    /// <summary>Loads and validates; on failure returns null and every problem.</summary>
    public DaemonSettings? Load(out IReadOnlyList<string> errors)
    {
        var builder = new ConfigurationBuilder();
        var baseDirectory = Directory.GetCurrentDirectory();
        if (ConfigFile is not null)
        {
            var path = Path.GetFullPath(ConfigFile);
            if (!File.Exists(path))
            {
                errors = [$"--config: the file '{ConfigFile}' does not exist"];
                return null;
            }

            baseDirectory = Path.GetDirectoryName(path)!;
            if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            {
                builder.AddJsonFile(path, optional: false, reloadOnChange: false);
            }
            else
            {
                builder.AddYamlFile(path, optional: false, reloadOnChange: false);
            }
        }

        builder.AddEnvironmentVariables("CONFIGSYNC_");
        builder.AddInMemoryCollection(Flags);
        IConfigurationRoot configuration;
        try
        {
            configuration = builder.Build();
        }
        catch (Exception e) when (e is FormatException or InvalidDataException or IOException or YamlDotNet.Core.YamlException)
        {
            errors = [$"{ConfigFile}: cannot be parsed: {ParseError(e)}"];
            return null;
        }

        return SettingsLoader.Load(configuration, SourceCatalog.All, baseDirectory, out errors);
    }

    /// <summary>The parser's own words, with the line and column when it gave them.</summary>
    private static string ParseError(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is YamlDotNet.Core.YamlException yaml)
            {
                return $"line {yaml.Start.Line}, column {yaml.Start.Column}: {yaml.Message.TrimEnd('.')}";
            }
        }

        return e.InnerException is { } cause ? $"{e.Message} {cause.Message}" : e.Message;
    }
}
