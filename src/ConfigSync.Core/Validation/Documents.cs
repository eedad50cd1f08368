using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ConfigSync.Validation;

/// <summary>
/// Parses JSON and YAML files into JSON nodes, describing a failure by line and column. Both are held
/// to <see cref="DocumentLimits"/>: nesting deeper than <see cref="DocumentLimits.MaxDepth"/> levels is
/// refused, and so is YAML whose aliases expand to more than <see cref="DocumentLimits.MaxTreeNodes"/>
/// nodes (a "billion laughs" document), found by <see cref="YamlBounds"/> before anything is built.
/// </summary>
internal static partial class Documents
{
    private const long MaxNodes = DocumentLimits.MaxTreeNodes;

    private static readonly JsonDocumentOptions JsonOptions = new() { MaxDepth = DocumentLimits.MaxDepth };

    /// <summary>Whether a path is a YAML file by its extension.</summary>
    public static bool IsYaml(string path) =>
        path.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".yml", StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses a JSON file; returns the problem, or null and the document.</summary>
    public static string? ParseJson(string path, out JsonNode? document)
    {
        document = null;
        try
        {
            using var stream = File.OpenRead(path);
            document = JsonNode.Parse(stream, documentOptions: JsonOptions);
            return null;
        }
        catch (JsonException e)
        {
            var message = e.Message;
            var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
            message = cut > 0 ? message[..cut] : message;
            var at = string.Create(CultureInfo.InvariantCulture, $"line {e.LineNumber + 1}, column {(e.BytePositionInLine ?? 0) + 1}");
            if (message.Contains("maximum configured depth", StringComparison.Ordinal))
            {
                // The reader's own words name the limit but not what it means for the file.
                return e.LineNumber is null ? $"nested deeper than {DocumentLimits.MaxDepth} levels" : $"nested deeper than {DocumentLimits.MaxDepth} levels at {at}";
            }

            return e.LineNumber is null ? $"not valid JSON: {message}" : $"not valid JSON at {at}: {message}";
        }
    }

    /// <summary>Parses every document of a YAML file; returns the problem, or null.</summary>
    public static string? ParseYaml(string path) => ParseYaml(path, out _);

    /// <summary>Parses every document of a YAML file into JSON nodes (YAML 1.2 core schema for plain scalars).</summary>
    public static string? ParseYaml(string path, out IReadOnlyList<JsonNode?> documents)
    {
        documents = [];
        var stream = new YamlStream();
        try
        {
            // YamlStream.Load and ToJson recurse once per level: the bounds are checked first, without recursion.
            using (var bounds = new StreamReader(path))
            {
                YamlBounds.Check(bounds, MaxNodes);
            }

            using var reader = new StreamReader(path);
            stream.Load(reader);
            var budget = MaxNodes;
            documents = [.. stream.Documents.Select(d => ToJson(d.RootNode, ref budget))];
            return null;
        }
        catch (YamlLimitException e)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{e.Message} at line {e.Start.Line}, column {e.Start.Column}");
        }
        catch (YamlException e)
        {
            var message = e.InnerException is YamlException inner ? inner.Message : e.Message;
            return string.Create(CultureInfo.InvariantCulture, $"not valid YAML at line {e.Start.Line}, column {e.Start.Column}: {message}");
        }
        catch (InvalidDataException e)
        {
            return e.Message;
        }
        catch (InvalidOperationException e)
        {
            // YamlBounds turns the scanner's position-less InvalidOperationException into a syntax error
            // first; this stays for any other path to it.
            return $"not valid YAML: {e.Message}";
        }
    }

    private static JsonNode? ToJson(YamlNode node, ref long budget)
    {
        if (--budget < 0)
        {
            throw new InvalidDataException($"the YAML expands to more than {MaxNodes} nodes (aliases)");
        }

        switch (node)
        {
            case YamlMappingNode mapping:
                var obj = new JsonObject();
                foreach (var (key, value) in mapping.Children)
                {
                    obj[key is YamlScalarNode s ? s.Value ?? string.Empty : key.ToString()] = ToJson(value, ref budget);
                }

                return obj;
            case YamlSequenceNode sequence:
                var array = new JsonArray();
                foreach (var item in sequence.Children)
                {
                    array.Add(ToJson(item, ref budget));
                }

                return array;
            case YamlScalarNode scalar:
                return Scalar(scalar);
            default:
                return null;
        }
    }

    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var value = scalar.Value ?? string.Empty;
        var tag = scalar.Tag.IsEmpty ? null : scalar.Tag.Value;
        if (tag == "tag:yaml.org,2002:str" || (tag is null && scalar.Style != ScalarStyle.Plain))
        {
            return JsonValue.Create(value);
        }

        if (value is "" or "~" or "null" or "Null" or "NULL")
        {
            return null;
        }

        if (value is "true" or "True" or "TRUE" or "false" or "False" or "FALSE")
        {
            return JsonValue.Create(value[0] is 't' or 'T');
        }

        if (Integer().IsMatch(value) && long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole))
        {
            return JsonValue.Create(whole);
        }

        if (Float().IsMatch(value) && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return JsonValue.Create(number);
        }

        return JsonValue.Create(value);
    }

    [GeneratedRegex("^[-+]?[0-9]+$", RegexOptions.CultureInvariant)]
    private static partial Regex Integer();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex Float();
}
