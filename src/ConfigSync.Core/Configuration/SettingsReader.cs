using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace ConfigSync.Configuration;

/// <summary>
/// Reads typed settings from one configuration section and records every problem by its
/// full setting name (for example <c>syncs[0].target.fileMode</c>) instead of stopping at
/// the first one. Keys that nobody asked for are reported as unknown, so a typo is an error
/// rather than a silently ignored setting.
/// </summary>
public sealed class SettingsReader
{
    private readonly IConfiguration _section;
    private readonly List<string> _errors;
    private readonly HashSet<string> _known = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<SettingsReader> _children = [];

    /// <summary>Creates a reader over <paramref name="section"/> whose settings are named below <paramref name="path"/>.</summary>
    public SettingsReader(IConfiguration section, string path, List<string> errors)
    {
        _section = section;
        Path = path;
        _errors = errors;
    }

    /// <summary>The display name of this section, for example <c>syncs[0].source</c>.</summary>
    public string Path { get; }

    /// <summary>The problems found so far by this reader and every reader sharing its list.</summary>
    public IReadOnlyList<string> Errors => _errors;

    /// <summary>Display name of a setting in this section.</summary>
    public string NameOf(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    /// <summary>Whether the setting is present (as a value or as a section).</summary>
    public bool Has(string key) => _section.GetSection(key).Exists();

    /// <summary>Whether the setting is a section (has settings of its own) rather than a single value.</summary>
    public bool IsSection(string key) => _section.GetSection(key) is { Value: null } section && section.GetChildren().Any();

    /// <summary>Records a problem with a setting of this section.</summary>
    public void Error(string key, string message) => _errors.Add($"{NameOf(key)}: {message}");

    /// <summary>Returns a reader for a nested section.</summary>
    public SettingsReader Section(string key)
    {
        _known.Add(key);
        var child = new SettingsReader(_section.GetSection(key), NameOf(key), _errors);
        _children.Add(child);
        return child;
    }

    /// <summary>Returns readers for the items of a list section, in order.</summary>
    public IReadOnlyList<SettingsReader> Items(string key)
    {
        _known.Add(key);
        var section = _section.GetSection(key);
        if (section.Value is { Length: > 0 })
        {
            Error(key, "must be a list");
            return [];
        }

        var items = section.GetChildren()
            .Select(c => (Child: c, Index: int.TryParse(c.Key, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : -1))
            .OrderBy(c => c.Index)
            .ToList();
        var readers = new List<SettingsReader>();
        foreach (var (child, index) in items)
        {
            if (index < 0)
            {
                Error(key, $"must be a list, found key '{child.Key}'");
                continue;
            }

            var reader = new SettingsReader(child, $"{NameOf(key)}[{index}]", _errors);
            _children.Add(reader);
            readers.Add(reader);
        }

        return readers;
    }

    /// <summary>Reads a string; empty counts as absent.</summary>
    public string? String(string key, string? defaultValue = null)
    {
        _known.Add(key);
        var section = _section.GetSection(key);
        if (section.Value is null && section.GetChildren().Any())
        {
            Error(key, "must be a single value, not a section");
            return defaultValue;
        }

        return string.IsNullOrWhiteSpace(section.Value) ? defaultValue : section.Value.Trim();
    }

    /// <summary>Reads a string that must be present.</summary>
    public string RequiredString(string key)
    {
        var value = String(key);
        if (value is null)
        {
            Error(key, "is required");
        }

        return value ?? string.Empty;
    }

    /// <summary>Reads one of a fixed set of lower-case words.</summary>
    public string Choice(string key, string defaultValue, params string[] allowed)
    {
        var value = String(key)?.ToLowerInvariant();
        if (value is null)
        {
            return defaultValue;
        }

        if (!allowed.Contains(value, StringComparer.Ordinal))
        {
            Error(key, $"'{value}' is not one of: {string.Join(", ", allowed)}");
            return defaultValue;
        }

        return value;
    }

    /// <summary>Reads one of an enum's values, written as its name in lower case (<c>kubelet</c> for <c>Kubelet</c>).</summary>
    public TEnum Choice<TEnum>(string key, TEnum defaultValue)
        where TEnum : struct, Enum
    {
        var choice = Choice(key, string.Empty, [.. Enum.GetNames<TEnum>().Select(name => name.ToLowerInvariant())]);
        return choice.Length == 0 ? defaultValue : Enum.Parse<TEnum>(choice, ignoreCase: true);
    }

    /// <summary>Reads a duration such as <c>500ms</c>, <c>30s</c>, <c>2m</c>, <c>1h30m</c>.</summary>
    public TimeSpan Duration(string key, TimeSpan defaultValue, TimeSpan? min = null)
    {
        var text = String(key);
        if (text is null)
        {
            return defaultValue;
        }

        if (!DurationParser.TryParse(text, out var value))
        {
            Error(key, $"'{text}' is not a duration (examples: 500ms, 30s, 2m, 1h30m)");
            return defaultValue;
        }

        if (min is { } m && value < m)
        {
            Error(key, $"'{text}' is too short; the minimum is {DurationParser.Format(m)}");
            return defaultValue;
        }

        return value;
    }

    /// <summary>Reads a byte size such as <c>1024</c>, <c>64Ki</c>, <c>256Mi</c>, <c>1G</c>.</summary>
    public long Bytes(string key, long defaultValue)
    {
        var text = String(key);
        if (text is null)
        {
            return defaultValue;
        }

        if (!ByteSizeParser.TryParse(text, out var value) || value <= 0)
        {
            Error(key, $"'{text}' is not a positive size (examples: 65536, 64Ki, 256Mi, 1Gi)");
            return defaultValue;
        }

        return value;
    }

    /// <summary>Reads a whole number within a range.</summary>
    public int Int(string key, int defaultValue, int min = int.MinValue, int max = int.MaxValue)
    {
        var text = String(key);
        if (text is null)
        {
            return defaultValue;
        }

        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            Error(key, $"'{text}' is not a whole number");
            return defaultValue;
        }

        if (value < min || value > max)
        {
            Error(key, max == int.MaxValue ? $"{value} is below the minimum {min}" : $"{value} is outside {min}..{max}");
            return defaultValue;
        }

        return value;
    }

    /// <summary>Reads a decimal number within a range.</summary>
    public double Double(string key, double defaultValue, double min, double max)
    {
        var text = String(key);
        if (text is null)
        {
            return defaultValue;
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            Error(key, $"'{text}' is not a number between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}");
            return defaultValue;
        }

        return value;
    }

    /// <summary>Reads true or false.</summary>
    public bool Bool(string key, bool defaultValue)
    {
        var text = String(key);
        if (text is null)
        {
            return defaultValue;
        }

        if (!bool.TryParse(text, out var value))
        {
            Error(key, $"'{text}' is not true or false");
            return defaultValue;
        }

        return value;
    }

    /// <summary>Reads a Unix permission mode written in octal, such as <c>"0644"</c>.</summary>
    public UnixFileMode Mode(string key, UnixFileMode defaultValue)
    {
        var text = String(key);
        if (text is null)
        {
            return defaultValue;
        }

        var digits = text.StartsWith("0o", StringComparison.OrdinalIgnoreCase) ? text[2..] : text;
        int value;
        try
        {
            value = Convert.ToInt32(digits, 8);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
        {
            Error(key, $"'{text}' is not an octal mode (examples: \"0644\", \"0440\"); quote it in YAML");
            return defaultValue;
        }

        if (value is < 0 or > 0x1FF)
        {
            Error(key, $"'{text}' is not a permission mode between 0000 and 0777");
            return defaultValue;
        }

        if ((value & 0x2) != 0)
        {
            Error(key, $"'{text}' is world-writable; ConfigSync never publishes world-writable files");
            return defaultValue;
        }

        return (UnixFileMode)value;
    }

    /// <summary>Reads a list of strings; a single value counts as a list of one.</summary>
    public IReadOnlyList<string> List(string key, IReadOnlyList<string> defaultValue)
    {
        _known.Add(key);
        var section = _section.GetSection(key);
        if (!section.Exists())
        {
            return defaultValue;
        }

        if (section.Value is { } single)
        {
            return string.IsNullOrWhiteSpace(single) ? [] : [single.Trim()];
        }

        var values = new List<string>();
        foreach (var child in section.GetChildren().OrderBy(c => int.TryParse(c.Key, CultureInfo.InvariantCulture, out var i) ? i : int.MaxValue))
        {
            if (child.Value is null)
            {
                Error(key, "must be a list of strings");
                continue;
            }

            values.Add(child.Value);
        }

        return values;
    }

    /// <summary>Reads a map of strings (for example HTTP headers).</summary>
    public IReadOnlyDictionary<string, string> Map(string key)
    {
        _known.Add(key);
        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var child in _section.GetSection(key).GetChildren())
        {
            if (child.Value is null)
            {
                Error($"{key}.{child.Key}", "must be a single value");
                continue;
            }

            map[child.Key] = child.Value;
        }

        return map;
    }

    /// <summary>Marks keys as known without reading them (read elsewhere).</summary>
    public void Known(params string[] keys)
    {
        foreach (var key in keys)
        {
            _known.Add(key);
        }
    }

    /// <summary>Marks every key of this section as known (its type was not understood, so its keys cannot be judged).</summary>
    public void KnownAll()
    {
        foreach (var child in _section.GetChildren())
        {
            _known.Add(child.Key);
        }
    }

    /// <summary>Records every key of this section and its nested sections that no one read.</summary>
    public void ReportUnknownKeys()
    {
        foreach (var child in _section.GetChildren())
        {
            if (!_known.Contains(child.Key))
            {
                _errors.Add($"{NameOf(child.Key)}: unknown setting");
            }
        }

        foreach (var child in _children)
        {
            child.ReportUnknownKeys();
        }
    }
}
