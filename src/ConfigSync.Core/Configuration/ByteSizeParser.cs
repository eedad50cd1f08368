using System.Globalization;
using System.Text.RegularExpressions;

namespace ConfigSync.Configuration;

/// <summary>Parses byte sizes in the Kubernetes quantity style: <c>1024</c>, <c>64Ki</c>, <c>256Mi</c>, <c>1G</c>.</summary>
public static partial class ByteSizeParser
{
    [GeneratedRegex(@"^(\d+)\s*(Ki|Mi|Gi|Ti|K|k|M|G|T|B)?\z", RegexOptions.CultureInvariant)]
    private static partial Regex Size();

    /// <summary>Parses <paramref name="text"/>.</summary>
    public static bool TryParse(string text, out long value)
    {
        value = 0;
        var match = Size().Match(text.Trim());
        if (!match.Success || !long.TryParse(match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        long unit = match.Groups[2].Value switch
        {
            "Ki" => 1L << 10,
            "Mi" => 1L << 20,
            "Gi" => 1L << 30,
            "Ti" => 1L << 40,
            "K" or "k" => 1_000,
            "M" => 1_000_000,
            "G" => 1_000_000_000,
            "T" => 1_000_000_000_000,
            _ => 1,
        };
        if (number > long.MaxValue / unit)
        {
            return false;
        }

        value = number * unit;
        return true;
    }
}
