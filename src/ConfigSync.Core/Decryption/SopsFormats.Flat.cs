using System.Globalization;
using System.Text;

namespace ConfigSync.Decryption;

/// <summary>SOPS's flat stores: dotenv (<c>sops_</c> keys) and INI (a <c>[sops]</c> section), metadata flattened.</summary>
internal static partial class SopsFormats
{
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
}
