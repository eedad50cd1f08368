using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

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
internal static class SopsFormats
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

    // ---- YAML ----

    private static SopsDocument? ReadYaml(byte[] content)
    {
        var parser = new Parser(new Scanner(new StringReader(Strict(content)), skipComments: false));
        var branches = new List<SopsMap>();
        parser.Consume<StreamStart>();
        while (parser.TryConsume<DocumentStart>(out _))
        {
            var leading = new List<SopsComment>();
            while (parser.TryConsume<YamlDotNet.Core.Events.Comment>(out var comment))
            {
                leading.Add(new SopsComment(comment.Value, comment.IsInline));
            }

            if (parser.TryConsume<DocumentEnd>(out _))
            {
                continue; // an empty document (a stray "---"): nothing to decrypt
            }

            var root = ReadYamlNode(parser);
            if (root is null)
            {
                parser.Consume<DocumentEnd>();
                continue; // an empty document: nothing to decrypt
            }

            if (root is not SopsMap map)
            {
                return null; // SOPS stores only mappings at the top of a document
            }

            map.Items.InsertRange(0, leading.Select(c => new SopsItem(c, null)));
            while (parser.TryConsume<YamlDotNet.Core.Events.Comment>(out var trailing))
            {
                map.Items.Add(new SopsItem(new SopsComment(trailing.Value, trailing.IsInline), null));
            }

            parser.Consume<DocumentEnd>();
            branches.Add(map);
        }

        parser.Consume<StreamEnd>();
        return TakeMetadata(SopsFormat.Yaml, branches);
    }

    /// <summary>
    /// A node of a SOPS YAML file. Anchors, aliases and merge keys are refused: the MAC covers values in document order,
    /// so an alias could publish a decrypted secret a second time under a key the MAC never saw (SOPS expands them).
    /// </summary>
    private static SopsNode? ReadYamlNode(IParser parser)
    {
        if (parser.TryConsume<AnchorAlias>(out _))
        {
            throw new SopsException("unsupported: YAML aliases (the MAC would not cover what they repeat)");
        }

        if (parser.TryConsume<Scalar>(out var scalar))
        {
            NoAnchor(scalar.Anchor);
            return YamlScalar(scalar);
        }

        if (parser.TryConsume<SequenceStart>(out var sequenceStart))
        {
            var list = new SopsList();
            while (!parser.TryConsume<SequenceEnd>(out _))
            {
                list.Items.Add(parser.TryConsume<YamlDotNet.Core.Events.Comment>(out var comment) ? new SopsComment(comment.Value, comment.IsInline) : ReadYamlNode(parser));
            }

            NoAnchor(sequenceStart.Anchor);
            return list;
        }

        var mappingStart = parser.Consume<MappingStart>();
        var map = new SopsMap();
        while (!parser.TryConsume<MappingEnd>(out _))
        {
            if (parser.TryConsume<YamlDotNet.Core.Events.Comment>(out var comment))
            {
                map.Items.Add(new SopsItem(new SopsComment(comment.Value, comment.IsInline), null));
                continue;
            }

            var keyScalar = parser.Consume<Scalar>();
            NoAnchor(keyScalar.Anchor);
            var key = keyScalar.Value;
            if (key == "<<" && keyScalar.Style == ScalarStyle.Plain)
            {
                throw new SopsException("unsupported: YAML merge keys (<<)");
            }

            if (map.Items.Any(i => i.Key is string existing && existing == key))
            {
                throw new SopsException($"a key appears twice in one map (the MAC covers values, not keys)");
            }

            var before = new List<SopsComment>();
            while (parser.TryConsume<YamlDotNet.Core.Events.Comment>(out var between))
            {
                before.Add(new SopsComment(between.Value, between.IsInline));
            }

            map.Items.AddRange(before.Select(c => new SopsItem(c, null)));
            map.Items.Add(new SopsItem(key, ReadYamlNode(parser)));
        }

        NoAnchor(mappingStart.Anchor);
        return map;
    }

    private static void NoAnchor(AnchorName anchor)
    {
        if (!anchor.IsEmpty)
        {
            throw new SopsException("unsupported: YAML anchors (the MAC would not cover what an alias repeats)");
        }
    }

    /// <summary>A plain scalar typed as YAML 1.2's core schema (what yaml.v3 gives SOPS); a quoted one is a string.</summary>
    private static SopsNode? YamlScalar(Scalar scalar)
    {
        var text = scalar.Value;
        var tag = scalar.Tag.IsEmpty ? null : scalar.Tag.Value;
        if (tag is "tag:yaml.org,2002:str" || (tag is null && scalar.Style != ScalarStyle.Plain))
        {
            return new SopsScalar(text);
        }

        if (text is "" or "~" or "null" or "Null" or "NULL")
        {
            return null;
        }

        if (text is "true" or "True" or "TRUE")
        {
            return new SopsScalar(true);
        }

        if (text is "false" or "False" or "FALSE")
        {
            return new SopsScalar(false);
        }

        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
        {
            return new SopsScalar(integer);
        }

        if (text.StartsWith("0x", StringComparison.Ordinal) && long.TryParse(text[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex))
        {
            return new SopsScalar(hex);
        }

        if (text.StartsWith("0o", StringComparison.Ordinal) && text.Length is > 2 and <= 23 && text[2..].All(c => c is >= '0' and <= '7'))
        {
            try
            {
                return new SopsScalar(Convert.ToInt64(text[2..], 8));
            }
            catch (OverflowException)
            {
                return new SopsScalar(text);
            }
        }

        if (System.Text.RegularExpressions.Regex.IsMatch(text, @"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
            && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return new SopsScalar(number, SopsTree.FloatText(number));
        }

        return new SopsScalar(text);
    }

    private static byte[] WriteYaml(List<SopsMap> branches)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        var emitter = new Emitter(writer);
        emitter.Emit(new StreamStart());
        foreach (var branch in branches)
        {
            emitter.Emit(new DocumentStart(null, null, isImplicit: branches.Count == 1));
            WriteYamlNode(emitter, branch);
            emitter.Emit(new DocumentEnd(isImplicit: true));
        }

        emitter.Emit(new StreamEnd());
        return Encoding.UTF8.GetBytes(writer.ToString());
    }

    private static void WriteYamlNode(IEmitter emitter, SopsNode? node)
    {
        switch (node)
        {
            case SopsMap map:
                emitter.Emit(new MappingStart());
                foreach (var item in map.Items)
                {
                    if (item.Key is SopsComment comment)
                    {
                        emitter.Emit(new YamlDotNet.Core.Events.Comment(CommentText(comment), comment.Inline));
                        continue;
                    }

                    emitter.Emit(new Scalar((string)item.Key));
                    WriteYamlNode(emitter, item.Value);
                }

                emitter.Emit(new MappingEnd());
                break;
            case SopsList list:
                emitter.Emit(new SequenceStart(AnchorName.Empty, TagName.Empty, true, SequenceStyle.Block));
                foreach (var item in list.Items)
                {
                    if (item is SopsComment comment)
                    {
                        emitter.Emit(new YamlDotNet.Core.Events.Comment(CommentText(comment), comment.Inline));
                        continue;
                    }

                    WriteYamlNode(emitter, item);
                }

                emitter.Emit(new SequenceEnd());
                break;
            case SopsComment comment:
                emitter.Emit(new YamlDotNet.Core.Events.Comment(CommentText(comment), comment.Inline));
                emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, "null", ScalarStyle.Plain, true, false));
                break;
            case null:
                emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, "null", ScalarStyle.Plain, true, false));
                break;
            case SopsScalar { Value: string s }:
                // A string stays plain only when no YAML reader (1.1 or 1.2) could take it for anything else.
                emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, s, SafePlain(s) ? ScalarStyle.Any : ScalarStyle.DoubleQuoted, true, true));
                break;
            case SopsScalar { Value: byte[] bytes }:
                WriteYamlNode(emitter, new SopsScalar(Encoding.UTF8.GetString(bytes))); // SOPS writes bytes as their text
                break;
            case SopsScalar scalar:
                emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, PlainText(scalar), ScalarStyle.Plain, true, false));
                break;
        }
    }

    /// <summary>Whether <paramref name="text"/> reads back as the same string, plain, in YAML 1.1 and 1.2 alike.</summary>
    private static bool SafePlain(string text) =>
        System.Text.RegularExpressions.Regex.IsMatch(text, "^[A-Za-z][A-Za-z0-9_./@-]*$")
        && !System.Text.RegularExpressions.Regex.IsMatch(text, "^(?i:y|n|yes|no|on|off|true|false|null)$");

    /// <summary>A comment's text as the emitter writes it after "# ": SOPS's text keeps the space that followed '#'.</summary>
    private static string CommentText(SopsComment comment) => comment.Text.StartsWith(' ') ? comment.Text[1..] : comment.Text;

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

    // ---- dotenv ----

    private static SopsDocument? ReadDotenv(byte[] content)
    {
        var map = new SopsMap();
        foreach (var line in Strict(content).Split('\n'))
        {
            if (line.Length == 0)
            {
                continue;
            }

            if (line[0] == '#')
            {
                map.Items.Add(new SopsItem(new SopsComment(line[1..]), null));
                continue;
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0)
            {
                return null;
            }

            if (map.Items.Any(i => i.Key is string existing && existing == line[..equals]))
            {
                throw new SopsException("a key appears twice (the MAC covers values, not keys)");
            }

            map.Items.Add(new SopsItem(line[..equals], new SopsScalar(line[(equals + 1)..].Replace("\\n", "\n", StringComparison.Ordinal))));
        }

        var flat = map.Items.Where(i => i.Key is string k && k.StartsWith("sops_", StringComparison.Ordinal)).ToList();
        if (flat.Count == 0)
        {
            return null;
        }

        map.Items.RemoveAll(flat.Contains);
        var metadata = SopsMetadata.Unflatten(flat.Select(i => KeyValuePair.Create(((string)i.Key)["sops_".Length..], Flat(i.Value))));
        return new SopsDocument(SopsFormat.Dotenv, [map], metadata);
    }

    private static byte[] WriteDotenv(SopsMap branch)
    {
        var text = new StringBuilder();
        foreach (var item in branch.Items)
        {
            text.Append(item.Key is SopsComment comment ? $"#{comment.Text}\n" : $"{item.Key}={Flat(item.Value).Replace("\n", "\\n", StringComparison.Ordinal)}\n");
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    // ---- INI ----

    private static SopsDocument? ReadIni(byte[] content)
    {
        var root = new SopsMap();
        var section = new SopsMap();
        root.Items.Add(new SopsItem("DEFAULT", section));
        foreach (var raw in Strict(content).Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0)
            {
                continue;
            }

            if (line[0] is ';' or '#')
            {
                section.Items.Add(new SopsItem(new SopsComment(line[1..].TrimStart()), null));
            }
            else if (line[0] == '[' && line[^1] == ']')
            {
                var name = line[1..^1].Trim();
                if (root.Items.Any(i => i.Key is string existing && existing == name))
                {
                    throw new SopsException("a section appears twice (the MAC covers values, not sections)");
                }

                section = new SopsMap();
                root.Items.Add(new SopsItem(name, section));
            }
            else
            {
                var separator = line.IndexOfAny(['=', ':']);
                if (separator <= 0)
                {
                    return null;
                }

                var value = line[(separator + 1)..].Trim();
                if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
                {
                    value = value[1..^1];
                }

                var key = line[..separator].Trim();
                if (section.Items.Any(i => i.Key is string existing && existing == key))
                {
                    throw new SopsException("a key appears twice in one section (the MAC covers values, not keys)");
                }

                section.Items.Add(new SopsItem(key, new SopsScalar(value)));
            }
        }

        var sops = root.Items.FirstOrDefault(i => i.Key is "sops");
        if (sops is null)
        {
            return null;
        }

        root.Items.Remove(sops);
        var metadata = SopsMetadata.Unflatten(((SopsMap)sops.Value!).Items.Where(i => i.Key is string)
            .Select(i => KeyValuePair.Create((string)i.Key, Flat(i.Value).Replace("\\n", "\n", StringComparison.Ordinal))));
        return new SopsDocument(SopsFormat.Ini, [root], metadata);
    }

    private static byte[] WriteIni(SopsMap branch)
    {
        var text = new StringBuilder();
        foreach (var sectionItem in branch.Items)
        {
            if (sectionItem.Value is not SopsMap section || (sectionItem.Key is "DEFAULT" && section.Items.Count == 0))
            {
                continue;
            }

            text.Append(CultureInfo.InvariantCulture, $"[{sectionItem.Key}]\n");
            foreach (var item in section.Items)
            {
                text.Append(item.Key is SopsComment comment ? $"; {comment.Text}\n" : $"{item.Key} = {Flat(item.Value)}\n");
            }

            text.Append('\n');
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

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
