using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ConfigSync.Decryption;

/// <summary>One encrypted copy of the data key, for one master key (an age recipient, an OpenPGP key, a KMS key...).</summary>
/// <param name="Type">The metadata's name for the key type: age, pgp, kms, azure_kv, gcp_kms, hc_vault, hckms.</param>
/// <param name="Id">The recipient, fingerprint, ARN or URL: safe to show.</param>
/// <param name="EncryptedKey">The data key as that master key encrypted it.</param>
public sealed record SopsMasterKey(string Type, string Id, string EncryptedKey);

/// <summary>The <c>sops</c> block of a file: its master keys and the rules and MAC of its values.</summary>
internal sealed class SopsMetadata
{
    private static readonly string[] KeyTypes = ["age", "pgp", "kms", "azure_kv", "gcp_kms", "hc_vault", "hckms"];

    private SopsMetadata()
    {
    }

    /// <summary>The master keys of the file's one key group.</summary>
    public IReadOnlyList<SopsMasterKey> Keys { get; private init; } = [];

    /// <summary>The encrypted MAC (ENC[...]).</summary>
    public string Mac { get; private init; } = string.Empty;

    /// <summary>lastmodified as SOPS formats it for the MAC's additional data (Go's time.RFC3339).</summary>
    public string LastModifiedForMac { get; private init; } = string.Empty;

    public bool MacOnlyEncrypted { get; private init; }

    public string? UnencryptedSuffix { get; private init; }

    public string? EncryptedSuffix { get; private init; }

    public Regex? UnencryptedRegex { get; private init; }

    public Regex? EncryptedRegex { get; private init; }

    public Regex? UnencryptedCommentRegex { get; private init; }

    public Regex? EncryptedCommentRegex { get; private init; }

    /// <summary>Reads the metadata; refuses (by name) what cannot be decrypted safely: several key groups (Shamir), no keys, no MAC, more than one rule.</summary>
    public static SopsMetadata Read(JsonObject sops)
    {
        var groups = sops["key_groups"] is JsonArray keyGroups ? keyGroups.Select(g => g as JsonObject ?? throw new SopsException("sops.key_groups: not a list of maps")).ToList() : [];
        if (KeyTypes.Any(t => sops[t] is JsonArray { Count: > 0 }))
        {
            groups = [sops];
        }

        var threshold = sops["shamir_threshold"] is JsonNode t ? ReadInt(t, "sops.shamir_threshold") : 0;
        if (groups.Count > 1 || threshold > 1)
        {
            throw new SopsException($"unsupported: Shamir key groups ({groups.Count} groups, threshold {Math.Max(threshold, groups.Count)}); only one key group is supported");
        }

        if (groups.Count == 0)
        {
            throw new SopsException("sops metadata: no master keys");
        }

        var keys = new List<SopsMasterKey>();
        foreach (var type in KeyTypes)
        {
            foreach (var entry in groups[0][type] as JsonArray ?? [])
            {
                var key = entry as JsonObject ?? throw new SopsException($"sops.{type}: an entry that is not a map");
                var id = type switch
                {
                    "age" => Text(key["recipient"]),
                    "pgp" => Text(key["fp"]),
                    "kms" => Text(key["arn"]),
                    "azure_kv" => $"{Text(key["vault_url"])}/keys/{Text(key["name"])}",
                    "gcp_kms" => Text(key["resource_id"]),
                    "hc_vault" => $"{Text(key["vault_address"])}/{Text(key["engine_path"])}/{Text(key["key_name"])}",
                    _ => Text(key["key_id"]),
                };
                keys.Add(new SopsMasterKey(type, id, Text(key["enc"])));
            }
        }

        var rules = new[] { "unencrypted_suffix", "encrypted_suffix", "unencrypted_regex", "encrypted_regex", "unencrypted_comment_regex", "encrypted_comment_regex" }
            .Where(r => Text(sops[r]).Length > 0).ToList();
        if (rules.Count > 1)
        {
            throw new SopsException($"sops metadata: more than one of {string.Join(", ", rules)}");
        }

        var mac = Text(sops["mac"]);
        if (mac.Length == 0)
        {
            throw new SopsException("sops metadata: no MAC");
        }

        return new SopsMetadata
        {
            Keys = keys,
            Mac = mac,
            LastModifiedForMac = LastModified(Text(sops["lastmodified"])),
            MacOnlyEncrypted = sops["mac_only_encrypted"] is JsonNode only && Text(only) is "true" or "True",
            // No rule at all means SOPS's default, unencrypted_suffix "_unencrypted".
            UnencryptedSuffix = rules.Count == 0 ? "_unencrypted" : NonEmpty(sops["unencrypted_suffix"]),
            EncryptedSuffix = NonEmpty(sops["encrypted_suffix"]),
            UnencryptedRegex = Pattern(sops["unencrypted_regex"], "unencrypted_regex"),
            EncryptedRegex = Pattern(sops["encrypted_regex"], "encrypted_regex"),
            UnencryptedCommentRegex = Pattern(sops["unencrypted_comment_regex"], "unencrypted_comment_regex"),
            EncryptedCommentRegex = Pattern(sops["encrypted_comment_regex"], "encrypted_comment_regex"),
        };
    }

    /// <summary>Go's time.Parse(time.RFC3339) then Format(time.RFC3339): seconds precision, Z for UTC.</summary>
    private static string LastModified(string text)
    {
        if (!DateTimeOffset.TryParseExact(text, ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFFFK"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var time))
        {
            throw new SopsException("sops metadata: lastmodified is not an RFC 3339 time");
        }

        var seconds = new DateTimeOffset(time.Year, time.Month, time.Day, time.Hour, time.Minute, time.Second, time.Offset);
        return text.EndsWith('Z') ? seconds.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) : seconds.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);
    }

    private static string Text(JsonNode? node) => node switch
    {
        null => string.Empty,
        JsonValue value when value.TryGetValue<string>(out var s) => s,
        JsonValue value => value.ToJsonString(),
        _ => string.Empty,
    };

    private static string? NonEmpty(JsonNode? node) => Text(node) is { Length: > 0 } s ? s : null;

    private static Regex? Pattern(JsonNode? node, string name)
    {
        if (NonEmpty(node) is not { } pattern)
        {
            return null;
        }

        try
        {
            return new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException)
        {
            throw new SopsException($"sops metadata: {name} is not a regular expression this implementation reads");
        }
    }

    private static int ReadInt(JsonNode node, string name) =>
        int.TryParse(Text(node), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : throw new SopsException($"{name}: not a number");

    /// <summary>
    /// Rebuilds the metadata map from SOPS's flattened keys (dotenv's <c>sops_</c> keys, INI's <c>[sops]</c> section):
    /// <c>age__list_0__map_recipient</c> is <c>age[0].recipient</c>.
    /// </summary>
    internal static JsonObject Unflatten(IEnumerable<KeyValuePair<string, string>> flat)
    {
        var root = new JsonObject();
        foreach (var (key, value) in flat)
        {
            var tokens = Regex.Split(key, "(__map_|__list_)");
            JsonNode current = root;
            object step = tokens[0];
            for (var i = 1; i < tokens.Length; i += 2)
            {
                object next = tokens[i] == "__list_"
                    ? int.TryParse(tokens[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var index) ? index : throw new SopsException($"sops metadata: bad flattened key '{key}'")
                    : tokens[i + 1];
                current = Child(current, step, next is int ? new JsonArray() : new JsonObject());
                step = next;
            }

            Set(current, step, JsonValue.Create(value));
        }

        return root;
    }

    private static JsonNode Child(JsonNode parent, object step, JsonNode empty)
    {
        if (step is string name)
        {
            var map = parent.AsObject();
            return map[name] ??= empty;
        }

        var list = parent.AsArray();
        var index = (int)step;
        while (list.Count <= index)
        {
            list.Add(null);
        }

        return list[index] ??= empty;
    }

    private static void Set(JsonNode parent, object step, JsonNode value)
    {
        if (step is string name)
        {
            parent.AsObject()[name] = value;
            return;
        }

        var list = parent.AsArray();
        var index = (int)step;
        while (list.Count <= index)
        {
            list.Add(null);
        }

        list[index] = value;
    }
}
