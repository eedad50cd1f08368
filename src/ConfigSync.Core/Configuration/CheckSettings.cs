namespace ConfigSync.Configuration;

/// <summary>What a pre-publish check does.</summary>
public enum CheckType
{
    /// <summary>Every matching file must be valid JSON.</summary>
    Json,

    /// <summary>Every matching file must be valid YAML (every document of it).</summary>
    Yaml,

    /// <summary>Every matching file (JSON or YAML) must parse and satisfy a JSON Schema.</summary>
    JsonSchema,

    /// <summary>A command run in the staged folder must exit 0.</summary>
    Exec,
}

/// <summary>One check run on the staged tree before it is published (<c>syncs[].validate[]</c>).</summary>
public sealed record CheckSettings
{
    /// <summary>Every default, for readers that start from them; <see cref="Type"/> has none and holds a placeholder.</summary>
    internal static readonly CheckSettings Defaults = new() { Type = CheckType.Json };

    /// <summary>The kind of check.</summary>
    public required CheckType Type { get; init; }

    /// <summary>Glob patterns of the tree paths checked. A pattern without wildcards names a file that must exist.
    /// <value>The default value is <see cref="DefaultFiles"/> of the type: <c>**/*.json</c> for json, <c>**/*.yaml</c> and <c>**/*.yml</c> for yaml, none for the others.</value></summary>
    public IReadOnlyList<string> Files { get; init; } = [];

    /// <summary>For <see cref="CheckType.JsonSchema"/>: the schema file, a path inside the tree or an absolute path.</summary>
    public string? Schema { get; init; }

    /// <summary>For <see cref="CheckType.Exec"/>: the program and its arguments.</summary>
    public IReadOnlyList<string> Command { get; init; } = [];

    /// <summary>For <see cref="CheckType.Exec"/>: time limit of the command. <value>The default value is 30 seconds.</value></summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The default <see cref="Files"/> of a check of <paramref name="type"/>.</summary>
    public static IReadOnlyList<string> DefaultFiles(CheckType type) => type switch
    {
        CheckType.Json => ["**/*.json"],
        CheckType.Yaml => ["**/*.yaml", "**/*.yml"],
        _ => [],
    };

    /// <summary>The name used in status, metrics and errors: <c>json</c>, <c>yaml</c>, <c>jsonSchema</c> or <c>exec</c>.</summary>
    public string Name => Type switch
    {
        CheckType.Json => "json",
        CheckType.Yaml => "yaml",
        CheckType.JsonSchema => "jsonSchema",
        _ => "exec",
    };
}
