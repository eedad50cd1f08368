using System.Globalization;
using ConfigSync.Configuration;
using ConfigSync.Validation;
using Microsoft.Extensions.Configuration;

namespace ConfigSync.Hosting;

/// <summary>
/// Gathers configuration in order of precedence: the YAML/JSON file, then <c>CONFIGSYNC_*</c>
/// environment variables (<c>CONFIGSYNC_SYNCS__0__SOURCE__URL</c>), then command-line flags.
/// The file is held to <see cref="DocumentLimits"/> before a parser that recurses sees it: at most
/// 1 MiB, nesting at most 64 levels, YAML aliases expanding to at most 100,000 nodes.
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
            if (CheckBounds(path) is { } problem)
            {
                errors = [$"{ConfigFile}: {problem}"];
                return null;
            }

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

    /// <summary>The config file's size, depth and alias expansion; returns the problem, or null.</summary>
    private static string? CheckBounds(string path)
    {
        try
        {
            var size = new FileInfo(path).Length;
            if (size > DocumentLimits.MaxConfigBytes)
            {
                return string.Create(CultureInfo.InvariantCulture, $"is {size} bytes; a config file may be at most 1 MiB ({DocumentLimits.MaxConfigBytes} bytes)");
            }

            if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            {
                return Documents.ParseJson(path, out _) is { } problem ? $"cannot be parsed: {problem}" : null;
            }

            using var reader = new StreamReader(path);
            YamlBounds.Check(reader, DocumentLimits.MaxConfigNodes);
            return null;
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            return $"cannot be parsed: {ParseError(e)}";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot be read: {e.Message}";
        }
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
