using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace ConfigSync.Configuration;

/// <summary>Parses and formats durations in the Go/Kubernetes style: <c>500ms</c>, <c>30s</c>, <c>1h30m</c>.</summary>
public static partial class DurationParser
{
    [GeneratedRegex(@"\G(\d+(?:\.\d+)?)(ms|s|m|h|d)", RegexOptions.CultureInvariant)]
    private static partial Regex Part();

    /// <summary>Parses <paramref name="text"/>; a bare number is seconds, <c>0</c> is zero.</summary>
    public static bool TryParse(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        text = text.Trim();
        if (text.Length == 0)
        {
            return false;
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            if (seconds < 0 || seconds > TimeSpan.MaxValue.TotalSeconds / 2)
            {
                return false;
            }

            value = TimeSpan.FromSeconds(seconds);
            return true;
        }

        var position = 0;
        var total = 0.0;
        foreach (Match match in Part().Matches(text))
        {
            if (match.Index != position)
            {
                return false;
            }

            var number = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            total += match.Groups[2].Value switch
            {
                "ms" => number / 1000,
                "s" => number,
                "m" => number * 60,
                "h" => number * 3600,
                _ => number * 86400,
            };
            position += match.Length;
        }

        if (position != text.Length || total > TimeSpan.MaxValue.TotalSeconds / 2)
        {
            return false;
        }

        value = TimeSpan.FromSeconds(total);
        return true;
    }

    /// <summary>Formats a duration compactly, for example <c>1m30s</c>.</summary>
    public static string Format(TimeSpan value)
    {
        if (value == TimeSpan.Zero)
        {
            return "0s";
        }

        if (value < TimeSpan.FromSeconds(1))
        {
            return $"{(int)value.TotalMilliseconds}ms";
        }

        var text = new StringBuilder();
        if (value.Days > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{value.Days}d");
        }

        if (value.Hours > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{value.Hours}h");
        }

        if (value.Minutes > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{value.Minutes}m");
        }

        if (value.Seconds > 0 || value.Milliseconds > 0)
        {
            text.Append(value.Milliseconds > 0
                ? (value.Seconds + (value.Milliseconds / 1000.0)).ToString("0.###", CultureInfo.InvariantCulture)
                : value.Seconds.ToString(CultureInfo.InvariantCulture)).Append('s');
        }

        return text.ToString();
    }
}
