using ConfigSync.Configuration;

namespace ConfigSync.Sources;

/// <summary>The <c>source.index</c> setting of the object-store sources: a key relative to the prefix.</summary>
public static class IndexKey
{
    /// <summary>The index key <c>configsync publish</c> writes when none is named.</summary>
    public const string Default = ".configsync-index.json";

    /// <summary>Reads <c>index</c> (null when absent); a key that is empty, absolute, has a <c>..</c> or <c>.</c> segment, or a control character is an error.</summary>
    public static string? Read(SettingsReader reader, string setting = "index")
    {
        if (reader.String(setting) is not { } key)
        {
            return null;
        }

        if (Problem(key) is { } problem)
        {
            reader.Error(setting, problem);
            return null;
        }

        return key;
    }

    /// <summary>What is wrong with an index key, or null.</summary>
    public static string? Problem(string key) =>
        key.Length is 0 or > 512 || key.StartsWith('/') || key.EndsWith('/') || key.Any(char.IsControl) || key.Split('/').Any(s => s is "" or "." or "..")
            ? $"'{Publishing.PathRules.Shown(key)}' is not a key relative to the prefix (no leading or trailing '/', no empty, '.' or '..' segment, at most 512 characters)"
            : null;
}
