using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Modes;
using Org.BouncyCastle.Crypto.Parameters;

namespace ConfigSync.Tests.TestSupport;

/// <summary>A comment line of a test document.</summary>
public sealed record SopsTestComment(string Text);

/// <summary>
/// The tests' SOPS encryptor, written apart from ConfigSync's decryptor: it renders a document given as ordered
/// (key, value) pairs straight into each format's text, encrypts the values as SOPS does (AES-256-GCM, 32-byte IVs,
/// the path as additional data, the SHA-512 MAC encrypted with lastmodified), and has the real tools encrypt the data
/// key: the <c>age</c> program for age recipients, <c>gpg</c> for OpenPGP. What it writes is also decrypted by an
/// independent implementation (sops-age, in <see cref="SopsAgeCheck"/>), so the two sides cannot share a mistake.
/// Values: string, long, double, bool, null, <see cref="SopsTestComment"/>, List&lt;object?&gt; and
/// List&lt;KeyValuePair&lt;string, object?&gt;&gt; (a map).
/// </summary>
public sealed class SopsWriter
{
    private static readonly byte[] MacOnlyEncryptedStart = SHA256.HashData("sops"u8);

    public List<string> AgeRecipients { get; init; } = [];

    /// <summary>OpenPGP fingerprints, and the GnuPG home that holds their public keys.</summary>
    public List<string> PgpFingerprints { get; init; } = [];

    public string? GpgHome { get; init; }

    public string? UnencryptedSuffix { get; init; }

    public string? EncryptedRegex { get; init; }

    public bool MacOnlyEncrypted { get; init; }

    public string LastModified { get; init; } = "2026-11-30T10:20:30Z";

    /// <summary>The data key used, for tests that tamper with a file and encrypt parts again.</summary>
    public byte[] DataKey { get; } = RandomNumberGenerator.GetBytes(32);

    /// <summary>Builds a map value.</summary>
    public static List<KeyValuePair<string, object?>> Map(params (string Key, object? Value)[] items) => [.. items.Select(i => KeyValuePair.Create(i.Key, i.Value))];

    /// <summary>An age identity made by age-keygen: its file and its recipient.</summary>
    public static (string KeyFile, string Recipient, string Secret) NewAgeIdentity(string folder, string name)
    {
        var file = Path.Combine(folder, name);
        Tool(null, "age-keygen", "-o", file);
        var text = File.ReadAllText(file);
        var recipient = text.Split('\n').Single(l => l.StartsWith("# public key: ", StringComparison.Ordinal))["# public key: ".Length..].Trim();
        var secret = text.Split('\n').Single(l => l.StartsWith("AGE-SECRET-KEY-1", StringComparison.Ordinal)).Trim();
        Captured.Secret(secret);
        return (file, recipient, secret);
    }

    /// <summary>An OpenPGP key made by gpg in <paramref name="home"/>; returns its fingerprint and a file of its exported secret key.</summary>
    public static (string Fingerprint, string SecretKeysFile) NewGpgKey(string home, string folder)
    {
        Directory.CreateDirectory(home);
        File.SetUnixFileMode(home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Tool(null, "gpg", "--homedir", home, "--batch", "--pinentry-mode", "loopback", "--passphrase", string.Empty, "--quick-gen-key", "ConfigSync test <test@configsync.invalid>", "default", "default", "never");
        var listing = Tool(null, "gpg", "--homedir", home, "--batch", "--with-colons", "--list-secret-keys");
        var fingerprint = listing.Split('\n').First(l => l.StartsWith("fpr:", StringComparison.Ordinal)).Split(':')[9];
        var file = Path.Combine(folder, "gpg-secret-keys.asc");
        File.WriteAllText(file, Tool(null, "gpg", "--homedir", home, "--batch", "--pinentry-mode", "loopback", "--passphrase", string.Empty, "--armor", "--export-secret-keys", fingerprint));
        return (fingerprint, file);
    }

    public string Yaml(List<KeyValuePair<string, object?>> document)
    {
        var text = new StringBuilder();
        var mac = Begin();
        WriteYamlMap(text, document, 0, [], mac);
        text.Append("sops:\n");
        WriteYamlMap(text, Metadata(mac), 4, [], null);
        return text.ToString();
    }

    public string Json(List<KeyValuePair<string, object?>> document)
    {
        var mac = Begin();
        var root = (JsonObject)ToJson(document, [], mac)!;
        root["sops"] = ToJson(Metadata(mac), [], null);
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>A dotenv file: string values and comments only, flat.</summary>
    public string Dotenv(List<KeyValuePair<string, object?>> document)
    {
        var mac = Begin();
        var text = new StringBuilder();
        foreach (var (key, value) in document)
        {
            text.Append(value is SopsTestComment comment
                ? $"#{Leaf(comment.Text, [], true, mac)}\n"
                : $"{key}={Leaf(value, [key], false, mac)!.ToString()!.Replace("\n", "\\n", StringComparison.Ordinal)}\n");
        }

        foreach (var (key, value) in Flatten(Metadata(mac), "sops_"))
        {
            text.Append(CultureInfo.InvariantCulture, $"{key}={value.Replace("\n", "\\n", StringComparison.Ordinal)}\n");
        }

        return text.ToString();
    }

    /// <summary>An INI file: sections of string values.</summary>
    public string Ini(List<KeyValuePair<string, object?>> sections)
    {
        var mac = Begin();
        var text = new StringBuilder();
        foreach (var (section, values) in sections)
        {
            text.Append(CultureInfo.InvariantCulture, $"[{section}]\n");
            foreach (var (key, value) in (List<KeyValuePair<string, object?>>)values!)
            {
                text.Append(CultureInfo.InvariantCulture, $"{key} = {Leaf(value, [section, key], false, mac)}\n");
            }

            text.Append('\n');
        }

        text.Append("[sops]\n");
        foreach (var (key, value) in Flatten(Metadata(mac), string.Empty))
        {
            text.Append(CultureInfo.InvariantCulture, $"{key} = {value.Replace("\n", "\\n", StringComparison.Ordinal)}\n");
        }

        return text.ToString();
    }

    /// <summary>SOPS's binary store: the whole file as one string value under "data".</summary>
    public string Binary(byte[] content)
    {
        var mac = Begin();
        var root = new JsonObject { ["data"] = (string)Leaf(Encoding.UTF8.GetString(content), ["data"], false, mac)! };
        root["sops"] = ToJson(Metadata(mac), [], null);
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>An ENC[...] value, as SOPS writes it, for tests that plant one.</summary>
    public string EncryptValue(object value, string additionalData)
    {
        var (bytes, type) = value switch
        {
            string s => (Encoding.UTF8.GetBytes(s), "str"),
            long l => (Encoding.ASCII.GetBytes(l.ToString(CultureInfo.InvariantCulture)), "int"),
            double d => (Encoding.ASCII.GetBytes(d.ToString("R", CultureInfo.InvariantCulture)), "float"),
            bool b => (b ? "True"u8.ToArray() : "False"u8.ToArray(), "bool"),
            SopsTestComment c => (Encoding.UTF8.GetBytes(c.Text), "comment"),
            _ => throw new ArgumentException($"cannot encrypt a {value.GetType().Name}"),
        };
        if (bytes.Length == 0)
        {
            return string.Empty;
        }

        var iv = RandomNumberGenerator.GetBytes(32);
        var cipher = new GcmBlockCipher(new AesEngine());
        cipher.Init(true, new AeadParameters(new KeyParameter(DataKey), 128, iv, Encoding.UTF8.GetBytes(additionalData)));
        var output = new byte[cipher.GetOutputSize(bytes.Length)];
        var length = cipher.ProcessBytes(bytes, 0, bytes.Length, output, 0);
        length += cipher.DoFinal(output, length);
        return $"ENC[AES256_GCM,data:{Convert.ToBase64String(output, 0, length - 16)},iv:{Convert.ToBase64String(iv)},tag:{Convert.ToBase64String(output, length - 16, 16)},type:{type}]";
    }

    private IncrementalHash Begin()
    {
        var mac = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
        if (MacOnlyEncrypted)
        {
            mac.AppendData(MacOnlyEncryptedStart);
        }

        return mac;
    }

    private bool Encrypted(IReadOnlyList<string> path)
    {
        if (EncryptedRegex is { } regex)
        {
            return path.Any(p => System.Text.RegularExpressions.Regex.IsMatch(p, regex));
        }

        var suffix = UnencryptedSuffix ?? "_unencrypted";
        return !path.Any(p => p.EndsWith(suffix, StringComparison.Ordinal));
    }

    /// <summary>A leaf as it is written: encrypted or not, its plaintext bytes added to the MAC (not a comment's).</summary>
    private object? Leaf(object? value, IReadOnlyList<string> path, bool isComment, IncrementalHash? mac)
    {
        if (value is null || mac is null)
        {
            return value;
        }

        var encrypted = Encrypted(path);
        if (!isComment && (!MacOnlyEncrypted || encrypted))
        {
            mac.AppendData(value switch
            {
                string s => Encoding.UTF8.GetBytes(s),
                long l => Encoding.ASCII.GetBytes(l.ToString(CultureInfo.InvariantCulture)),
                double d => Encoding.ASCII.GetBytes(d.ToString("R", CultureInfo.InvariantCulture)),
                bool b => b ? "True"u8.ToArray() : "False"u8.ToArray(),
                _ => throw new ArgumentException(value.GetType().Name),
            });
        }

        if (!encrypted)
        {
            return value;
        }

        var additional = string.Join(":", path) + ":";
        return EncryptValue(isComment ? new SopsTestComment((string)value) : value, additional);
    }

    private void WriteYamlMap(StringBuilder text, List<KeyValuePair<string, object?>> map, int indent, List<string> path, IncrementalHash? mac)
    {
        var pad = new string(' ', indent);
        foreach (var (key, value) in map)
        {
            switch (value)
            {
                case SopsTestComment comment:
                    text.Append(CultureInfo.InvariantCulture, $"{pad}#{Leaf(comment.Text, path, true, mac)}\n");
                    break;
                case List<KeyValuePair<string, object?>> child:
                    text.Append(CultureInfo.InvariantCulture, $"{pad}{key}:\n");
                    WriteYamlMap(text, child, indent + 4, [.. path, key], mac);
                    break;
                case List<object?> list:
                    text.Append(CultureInfo.InvariantCulture, $"{pad}{key}:\n");
                    foreach (var item in list)
                    {
                        if (item is List<KeyValuePair<string, object?>> itemMap)
                        {
                            text.Append(CultureInfo.InvariantCulture, $"{pad}  -\n");
                            WriteYamlMap(text, itemMap, indent + 6, [.. path, key], mac);
                        }
                        else
                        {
                            text.Append(CultureInfo.InvariantCulture, $"{pad}  - {YamlScalar(Leaf(item, [.. path, key], false, mac), indent + 4)}\n");
                        }
                    }

                    break;
                default:
                    text.Append(CultureInfo.InvariantCulture, $"{pad}{key}: {YamlScalar(Leaf(value, [.. path, key], false, mac), indent + 4)}\n");
                    break;
            }
        }
    }

    private static string YamlScalar(object? value, int indent) => value switch
    {
        null => "null",
        string s when s.Contains('\n', StringComparison.Ordinal) => "|-\n" + string.Join("\n", s.TrimEnd('\n').Split('\n').Select(l => new string(' ', indent) + l)),
        string s => JsonSerializer.Serialize(s), // a JSON string is a YAML double-quoted scalar
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        _ => throw new ArgumentException(value.GetType().Name),
    };

    private JsonNode? ToJson(object? value, List<string> path, IncrementalHash? mac) => value switch
    {
        List<KeyValuePair<string, object?>> map => new JsonObject(map.Where(i => i.Value is not SopsTestComment).Select(i => KeyValuePair.Create(i.Key, ToJson(i.Value, [.. path, i.Key], mac)))),
        List<object?> list => new JsonArray([.. list.Select(i => ToJson(i, path, mac))]),
        _ => Leaf(value, path, false, mac) switch
        {
            null => null,
            string s => JsonValue.Create(s),
            long l => JsonValue.Create(l),
            double d => JsonValue.Create(d),
            bool b => JsonValue.Create(b),
            var other => throw new ArgumentException(other.GetType().Name),
        },
    };

    /// <summary>The sops block: the data key for each recipient (by the real tools), lastmodified, the encrypted MAC and the rules.</summary>
    private List<KeyValuePair<string, object?>> Metadata(IncrementalHash mac)
    {
        var metadata = new List<KeyValuePair<string, object?>>();
        if (AgeRecipients.Count > 0)
        {
            metadata.Add(KeyValuePair.Create<string, object?>("age", AgeRecipients.Select(r => (object?)Map(("recipient", r), ("enc", Tool(DataKey, "age", "--encrypt", "--armor", "-r", r)))).ToList()));
        }

        if (PgpFingerprints.Count > 0)
        {
            metadata.Add(KeyValuePair.Create<string, object?>("pgp", PgpFingerprints.Select(f => (object?)Map(
                ("created_at", LastModified),
                ("enc", Tool(DataKey, "gpg", "--homedir", GpgHome!, "--batch", "--trust-model", "always", "--armor", "--encrypt", "-r", f)),
                ("fp", f))).ToList()));
        }

        metadata.Add(KeyValuePair.Create<string, object?>("lastmodified", LastModified));
        metadata.Add(KeyValuePair.Create<string, object?>("mac", EncryptValue(Convert.ToHexString(mac.GetHashAndReset()), LastModified)));
        if (EncryptedRegex is not null)
        {
            metadata.Add(KeyValuePair.Create<string, object?>("encrypted_regex", EncryptedRegex));
        }
        else
        {
            metadata.Add(KeyValuePair.Create<string, object?>("unencrypted_suffix", UnencryptedSuffix ?? "_unencrypted"));
        }

        if (MacOnlyEncrypted)
        {
            metadata.Add(KeyValuePair.Create<string, object?>("mac_only_encrypted", true));
        }

        metadata.Add(KeyValuePair.Create<string, object?>("version", "3.9.4"));
        return metadata;
    }

    /// <summary>Runs a tool to completion (its input on stdin); returns its output, throws on failure.</summary>
    public static string Tool(byte[]? input, string file, params string[] arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            process.StandardInput.BaseStream.Write(input);
        }

        process.StandardInput.Close();
        process.WaitForExit();
        return process.ExitCode == 0 ? output.Result : throw new InvalidOperationException($"{file} failed ({process.ExitCode}): {error.Result}");
    }

    private static IEnumerable<(string Key, string Value)> Flatten(object? value, string prefix) => value switch
    {
        List<KeyValuePair<string, object?>> map => map.SelectMany(i => Flatten(i.Value, prefix.Length == 0 || prefix.EndsWith('_') ? prefix + i.Key : $"{prefix}__map_{i.Key}")),
        List<object?> list => list.SelectMany((item, index) => Flatten(item, $"{prefix}__list_{index}")),
        bool b => [(prefix, b ? "true" : "false")],
        _ => [(prefix, Convert.ToString(value, CultureInfo.InvariantCulture)!)],
    };
}
