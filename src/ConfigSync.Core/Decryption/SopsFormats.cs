using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using YamlDotNet.Core;

namespace ConfigSync.Decryption;

/// <summary>The formats SOPS stores, chosen by file extension as SOPS chooses them.</summary>
internal enum SopsFormat
{
    Yaml,
    Json,
    Dotenv,
    Ini,
    Binary,
}

/// <summary>A file with SOPS metadata: its branches (YAML documents; one for every other format) and its metadata.</summary>
internal sealed record SopsDocument(SopsFormat Format, List<SopsMap> Branches, JsonObject Metadata);

/// <summary>
/// Reads each format into SOPS's tree, as SOPS's stores do (the metadata taken out of it), and writes the decrypted
/// tree back in the same format. A file whose format does not parse, or that has no SOPS metadata, is not a SOPS file.
/// </summary>
internal static partial class SopsFormats
{
    public static SopsFormat FormatOf(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".yaml" or ".yml" => SopsFormat.Yaml,
        ".json" => SopsFormat.Json,
        ".env" => SopsFormat.Dotenv,
        ".ini" => SopsFormat.Ini,
        _ => SopsFormat.Binary,
    };

    /// <summary>The document, or null when <paramref name="content"/> is not a SOPS file of its format.</summary>
    public static SopsDocument? Read(string path, byte[] content)
    {
        var format = FormatOf(path);
        try
        {
            return format switch
            {
                SopsFormat.Yaml => ReadYaml(content),
                SopsFormat.Json => ReadJson(content, binary: false),
                SopsFormat.Dotenv => ReadDotenv(content),
                SopsFormat.Ini => ReadIni(content),
                _ => ReadJson(content, binary: true),
            };
        }
        catch (Exception e) when (e is YamlException or JsonException or DecoderFallbackException or InvalidOperationException)
        {
            // Not a file of its format. One that still carries encrypted values is a damaged SOPS file: refused, never
            // published as it is (the app would read ENC[...] strings, or whatever an attacker left around them).
            if (Encoding.UTF8.GetString(content).Contains("ENC[AES256_GCM,", StringComparison.Ordinal))
            {
                throw new SopsException($"it holds SOPS values but does not read as {format} ({e.GetType().Name})");
            }

            return null;
        }
    }

    public static byte[] Write(SopsDocument document) => document.Format switch
    {
        SopsFormat.Yaml => WriteYaml(document.Branches),
        SopsFormat.Json => Encoding.UTF8.GetBytes(ToJson(document.Branches[0])!.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n"),
        SopsFormat.Dotenv => WriteDotenv(document.Branches[0]),
        SopsFormat.Ini => WriteIni(document.Branches[0]),
        _ => WriteBinary(document.Branches[0]),
    };

    /// <summary>A scalar as the text formats write it (YAML plain scalars, dotenv and INI values).</summary>
    private static string PlainText(SopsScalar scalar) => scalar.Value switch
    {
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => scalar.Text ?? SopsTree.FloatText(d),
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        _ => Convert.ToString(scalar.Value, CultureInfo.InvariantCulture)!,
    };

    // ---- JSON (and the binary store's JSON envelope) ----

    private static SopsDocument? ReadJson(byte[] content, bool binary)
    {
        JsonNode? parsed;
        try
        {
            parsed = JsonNode.Parse(Strict(content), documentOptions: new JsonDocumentOptions { AllowTrailingCommas = false });
            parsed?.AsObject().Count.ToString(CultureInfo.InvariantCulture); // materializes the object: duplicate keys throw here
        }
        catch (ArgumentException)
        {
            throw new SopsException("a key appears twice in one object (the MAC covers values, not keys)");
        }

        if (parsed is not JsonObject root)
        {
            return null;
        }

        if (binary && (root.Count != 2 || root["data"] is not JsonValue || root["sops"] is not JsonObject))
        {
            return null;
        }

        SopsMap map;
        try
        {
            map = (SopsMap)FromJson(root)!;
        }
        catch (ArgumentException)
        {
            throw new SopsException("a key appears twice in one object (the MAC covers values, not keys)");
        }

        return TakeMetadata(binary ? SopsFormat.Binary : SopsFormat.Json, [map]);
    }

    private static SopsNode? FromJson(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return null;
            case JsonObject map:
                var result = new SopsMap();
                foreach (var (key, value) in map.ToList())
                {
                    result.Items.Add(new SopsItem(key, FromJson(value)));
                }

                return result;
            case JsonArray list:
                var items = new SopsList();
                items.Items.AddRange(list.Select(FromJson));
                return items;
            default:
                var element = node.GetValue<JsonElement>();
                return element.ValueKind switch
                {
                    JsonValueKind.String => new SopsScalar(element.GetString()!),
                    JsonValueKind.True => new SopsScalar(true),
                    JsonValueKind.False => new SopsScalar(false),
                    JsonValueKind.Number when element.TryGetInt64(out var integer) => new SopsScalar(integer),
                    JsonValueKind.Number => new SopsScalar(element.GetDouble(), SopsTree.FloatText(element.GetDouble())),
                    _ => null,
                };
        }
    }

    private static JsonNode? ToJson(SopsNode? node) => node switch
    {
        SopsMap map => new JsonObject(map.Items.Where(i => i.Key is string).Select(i => KeyValuePair.Create((string)i.Key, ToJson(i.Value)))),
        SopsList list => new JsonArray([.. list.Items.Where(i => i is not SopsComment).Select(ToJson)]),
        SopsScalar { Value: string s } => JsonValue.Create(s),
        SopsScalar { Value: long l } => JsonValue.Create(l),
        SopsScalar { Value: double d } => JsonValue.Create(d),
        SopsScalar { Value: bool b } => JsonValue.Create(b),
        SopsScalar { Value: byte[] bytes } => JsonValue.Create(Convert.ToBase64String(bytes)),
        _ => null,
    };

    private static byte[] WriteBinary(SopsMap branch) => branch.Items.Single(i => i.Key is "data").Value switch
    {
        SopsScalar { Value: byte[] bytes } => bytes,
        SopsScalar { Value: string s } => Encoding.UTF8.GetBytes(s),
        _ => throw new SopsException("binary file: data is not a string"),
    };

    // ---- shared ----

    /// <summary>Takes the top-level <c>sops</c> map out of every branch; the first branch's is the metadata.</summary>
    private static SopsDocument? TakeMetadata(SopsFormat format, List<SopsMap> branches)
    {
        JsonObject? metadata = null;
        for (var b = 0; b < branches.Count; b++)
        {
            foreach (var item in branches[b].Items.Where(i => i.Key is "sops").ToList())
            {
                if (b > 0 || metadata is not null)
                {
                    throw new SopsException("more than one sops block");
                }

                metadata = ToJson(item.Value) as JsonObject ?? throw new SopsException("the sops block is not a map");

                branches[b].Items.Remove(item);
            }
        }

        return metadata is null ? null : new SopsDocument(format, branches, metadata);
    }

    private static string Flat(SopsNode? node) => node switch
    {
        SopsScalar scalar => PlainText(scalar),
        null => string.Empty,
        _ => throw new SopsException("a nested value in a flat format"),
    };

    /// <summary>UTF-8 text, refusing invalid bytes.</summary>
    private static string Strict(byte[] content) => new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(content);
}