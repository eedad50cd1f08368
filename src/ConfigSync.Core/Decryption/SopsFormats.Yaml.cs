using System.Globalization;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace ConfigSync.Decryption;

/// <summary>SOPS's YAML store: comments kept, several documents, the values typed as YAML 1.2's core schema.</summary>
internal static partial class SopsFormats
{
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
}
