using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Modes;
using Org.BouncyCastle.Crypto.Parameters;

namespace ConfigSync.Decryption;

/// <summary>A node of a SOPS document, as SOPS models every format: maps of items, lists, scalars and comments.</summary>
internal abstract class SopsNode;

/// <summary>An ordered map; an item's key is a string, or a comment (an item without a value).</summary>
internal sealed class SopsMap : SopsNode
{
    public List<SopsItem> Items { get; } = [];
}

internal sealed class SopsItem(object key, SopsNode? value)
{
    /// <summary>A string, or a <see cref="SopsComment"/>.</summary>
    public object Key { get; set; } = key;

    public SopsNode? Value { get; set; } = value;
}

/// <summary>A list; its items may be comments.</summary>
internal sealed class SopsList : SopsNode
{
    public List<SopsNode?> Items { get; } = [];
}

internal sealed class SopsComment(string text, bool inline = false) : SopsNode
{
    public string Text { get; set; } = text;

    public bool Inline { get; } = inline;
}

/// <summary>A scalar: a string, a long (SOPS's int), a double (float, with its text), a bool, or bytes.</summary>
internal sealed class SopsScalar(object value, string? text = null) : SopsNode
{
    public object Value { get; set; } = value;

    /// <summary>How a float was written (the MAC and the output use it), or null.</summary>
    public string? Text { get; set; } = text;
}

/// <summary>
/// The decryption of a SOPS tree, as SOPS's <c>Tree.Decrypt</c> does it: each leaf, in document order, decrypted
/// when the metadata's rules say it was encrypted (AES-256-GCM with the path <c>a:b:c:</c> as additional data,
/// 32-byte IVs: BouncyCastle's GCM, since .NET's AesGcm takes only 12-byte nonces), its type restored, and the
/// bytes of every value (or of the encrypted ones, with mac_only_encrypted) hashed with SHA-512 into the MAC.
/// </summary>
internal sealed partial class SopsTree(SopsMetadata metadata, byte[] dataKey)
{
    /// <summary>The first 32 bytes the MAC starts from with mac_only_encrypted (SOPS's MACOnlyEncryptedInitialization: sha256("sops")).</summary>
    private static readonly byte[] MacOnlyEncryptedStart = SHA256.HashData("sops"u8);

    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);

    /// <summary>Decrypts every branch in place and checks the MAC; throws <see cref="SopsException"/> on any mismatch.</summary>
    public void Decrypt(IReadOnlyList<SopsMap> branches)
    {
        if (metadata.MacOnlyEncrypted)
        {
            _hash.AppendData(MacOnlyEncryptedStart);
        }

        foreach (var branch in branches)
        {
            WalkMap(branch, [], []);
        }

        var computed = Convert.ToHexString(_hash.GetHashAndReset());
        string? stored;
        try
        {
            stored = DecryptValue(metadata.Mac, metadata.LastModifiedForMac, "mac") as string;
        }
        catch (SopsException)
        {
            throw new SopsException("MAC mismatch: the MAC does not open with the file's lastmodified (the metadata was changed)");
        }

        if (stored is null || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(stored), Encoding.ASCII.GetBytes(computed)))
        {
            throw new SopsException("MAC mismatch: the file was changed after it was encrypted, or its MAC was");
        }
    }

    private void WalkMap(SopsMap map, List<string> path, List<List<string>> comments)
    {
        comments = [.. comments, []];
        foreach (var item in map.Items)
        {
            if (item.Key is SopsComment keyComment)
            {
                comments[^1].Add(keyComment.Text);
                Leaf(keyComment, path, comments);
                continue;
            }

            var valueComment = item.Value as SopsComment;
            if (valueComment is not null)
            {
                comments[^1].Add(valueComment.Text);
            }

            item.Value = Walk(item.Value, [.. path, (string)item.Key], comments);
            if (valueComment is null)
            {
                comments[^1].Clear();
            }
        }
    }

    private SopsNode? Walk(SopsNode? node, List<string> path, List<List<string>> comments)
    {
        switch (node)
        {
            case null:
                return null;
            case SopsMap map:
                WalkMap(map, path, comments);
                return map;
            case SopsList list:
                comments = [.. comments, []];
                for (var i = 0; i < list.Items.Count; i++)
                {
                    var isComment = list.Items[i] is SopsComment;
                    if (list.Items[i] is SopsComment comment)
                    {
                        comments[^1].Add(comment.Text);
                    }

                    list.Items[i] = Walk(list.Items[i], path, comments);
                    if (!isComment)
                    {
                        comments[^1].Clear();
                    }
                }

                return list;
            default:
                return Leaf(node, path, comments);
        }
    }

    private SopsNode Leaf(SopsNode node, List<string> path, List<List<string>> comments)
    {
        var isComment = node is SopsComment;
        var encrypted = ShouldBeEncrypted(path, comments, isComment);
        var additional = string.Join(":", path) + ":"; // SOPS: strings.Join(path, ":") + ":", so ":" at the top
        SopsNode result = node;
        if (encrypted)
        {
            if (node is SopsComment comment)
            {
                // SOPS keeps a comment it cannot decrypt as it is (written before comments were encrypted).
                if (comment.Text.StartsWith("ENC[", StringComparison.Ordinal) && TryDecryptValue(comment.Text, additional) is { } text)
                {
                    comment.Text = text is string s ? s : Convert.ToString(text, CultureInfo.InvariantCulture)!;
                }
            }
            else if (node is SopsScalar { Value: string value })
            {
                var plain = DecryptValue(value, additional, Describe(path));
                result = plain switch
                {
                    double d => new SopsScalar(d, FloatText(d)),
                    _ => new SopsScalar(plain),
                };
            }
            else
            {
                throw new SopsException($"value at {Describe(path)}: expected an encrypted string, found a {Kind(node)}");
            }
        }

        if ((!metadata.MacOnlyEncrypted || encrypted) && result is SopsScalar scalar)
        {
            _hash.AppendData(ToBytes(scalar));
        }

        return result;
    }

    /// <summary>SOPS's shouldBeEncrypted: the suffix and regex rules over the path's keys and the comments above.</summary>
    private bool ShouldBeEncrypted(List<string> path, List<List<string>> comments, bool isComment)
    {
        var encrypted = true;
        if (metadata.UnencryptedSuffix is { Length: > 0 } unencryptedSuffix && path.Any(p => p.EndsWith(unencryptedSuffix, StringComparison.Ordinal)))
        {
            encrypted = false;
        }

        if (metadata.EncryptedSuffix is { Length: > 0 } encryptedSuffix)
        {
            encrypted = path.Any(p => p.EndsWith(encryptedSuffix, StringComparison.Ordinal));
        }

        if (metadata.UnencryptedRegex is { } unencryptedRegex && path.Any(unencryptedRegex.IsMatch))
        {
            encrypted = false;
        }

        if (metadata.EncryptedRegex is { } encryptedRegex)
        {
            encrypted = path.Any(encryptedRegex.IsMatch);
        }

        if (metadata.UnencryptedCommentRegex is { } unencryptedComment && comments.Any(c => c.Any(unencryptedComment.IsMatch)))
        {
            encrypted = false;
        }

        if (metadata.EncryptedCommentRegex is { } encryptedComment)
        {
            encrypted = false;
            for (var i = 0; i < comments.Count && !encrypted; i++)
            {
                for (var j = 0; j < comments[i].Count && !encrypted; j++)
                {
                    // The comment that matches is not itself encrypted: skip the last comment of the last set.
                    if (isComment && i == comments.Count - 1 && j == comments[i].Count - 1)
                    {
                        continue;
                    }

                    encrypted = encryptedComment.IsMatch(comments[i][j]);
                }
            }
        }

        return encrypted;
    }

    private object? TryDecryptValue(string value, string additional)
    {
        try
        {
            return DecryptValue(value, additional, "comment");
        }
        catch (SopsException)
        {
            return null;
        }
    }

    /// <summary>Decrypts <c>ENC[AES256_GCM,data:...,iv:...,tag:...,type:...]</c>; an empty string stays empty, as SOPS writes it.</summary>
    private object DecryptValue(string value, string additional, string where)
    {
        if (value.Length == 0)
        {
            return string.Empty;
        }

        var match = EncryptedValue().Match(value);
        if (!match.Success)
        {
            throw new SopsException($"value at {where}: not an encrypted value (ENC[AES256_GCM,...]) where the file's rules say one must be");
        }

        byte[] data, iv, tag;
        try
        {
            (data, iv, tag) = (Convert.FromBase64String(match.Groups[1].Value), Convert.FromBase64String(match.Groups[2].Value), Convert.FromBase64String(match.Groups[3].Value));
        }
        catch (FormatException)
        {
            throw new SopsException($"value at {where}: not base64 inside ENC[...]");
        }

        // SOPS writes 16-byte tags (and 32-byte IVs): a shorter tag would make a forged value a matter of guessing it.
        if (tag.Length != 16 || iv.Length < 12)
        {
            throw new SopsException($"value at {where}: not a SOPS AES-GCM value (a {tag.Length}-byte tag, a {iv.Length}-byte IV)");
        }

        var cipher = new GcmBlockCipher(new AesEngine());
        cipher.Init(false, new AeadParameters(new KeyParameter(dataKey), tag.Length * 8, iv, Encoding.UTF8.GetBytes(additional)));
        var output = new byte[cipher.GetOutputSize(data.Length + tag.Length)];
        int length;
        try
        {
            length = cipher.ProcessBytes([.. data, .. tag], 0, data.Length + tag.Length, output, 0);
            length += cipher.DoFinal(output, length);
        }
        catch (Org.BouncyCastle.Crypto.InvalidCipherTextException)
        {
            throw new SopsException($"value at {where}: authentication failed (the value was changed, moved to another key, or the data key is wrong)");
        }

        var plain = output.AsSpan(0, length);
        var text = Encoding.UTF8.GetString(plain);
        var type = match.Groups[4].Value;
        return type switch
        {
            "str" or "time" => text,
            "comment" => text,
            "bytes" => plain.ToArray(),
            "int" when long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer) => integer,
            "float" when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) => number,
            "bool" when ParseGoBool(text) is { } flag => flag,
            "int" or "float" or "bool" => throw new SopsException($"value at {where}: its plaintext is not of type {type} (the type field is not authenticated: the value was changed)"),
            _ => throw new SopsException($"value at {where}: unknown type '{type}'"),
        };
    }

    /// <summary>SOPS's ToBytes: the bytes a value adds to the MAC.</summary>
    private static byte[] ToBytes(SopsScalar scalar) => scalar.Value switch
    {
        string s => Encoding.UTF8.GetBytes(s),
        long l => Encoding.ASCII.GetBytes(l.ToString(CultureInfo.InvariantCulture)),
        double d => Encoding.ASCII.GetBytes(FloatText(d)),
        bool b => b ? "True"u8.ToArray() : "False"u8.ToArray(),
        byte[] bytes => bytes,
        _ => throw new SopsException($"a value of an unsupported type {scalar.Value.GetType().Name}"),
    };

    /// <summary>Go's strconv.FormatFloat(f, 'f', -1, 64): the shortest digits that read back as f, never an exponent.</summary>
    internal static string FloatText(double value)
    {
        if (double.IsNaN(value))
        {
            return "NaN";
        }

        if (double.IsInfinity(value))
        {
            return value > 0 ? "+Inf" : "-Inf";
        }

        var shortest = value.ToString("R", CultureInfo.InvariantCulture);
        var e = shortest.IndexOfAny(['E', 'e']);
        if (e < 0)
        {
            return shortest;
        }

        var mantissa = shortest[..e];
        var exponent = int.Parse(shortest[(e + 1)..], CultureInfo.InvariantCulture);
        var negative = mantissa.StartsWith('-');
        var digits = mantissa.TrimStart('-').Replace(".", string.Empty, StringComparison.Ordinal);
        var point = mantissa.TrimStart('-').IndexOf('.') is var p && p >= 0 ? p : mantissa.TrimStart('-').Length;
        point += exponent;
        string result;
        if (point <= 0)
        {
            result = "0." + new string('0', -point) + digits;
        }
        else if (point >= digits.Length)
        {
            result = digits + new string('0', point - digits.Length);
        }
        else
        {
            result = digits[..point] + "." + digits[point..];
        }

        return (negative ? "-" : string.Empty) + result;
    }

    private static bool? ParseGoBool(string text) => text switch
    {
        "1" or "t" or "T" or "TRUE" or "true" or "True" => true,
        "0" or "f" or "F" or "FALSE" or "false" or "False" => false,
        _ => null,
    };

    private static string Describe(List<string> path) => path.Count == 0 ? "the top" : "'" + string.Join(".", path) + "'";

    private static string Kind(SopsNode node) => node switch
    {
        SopsScalar { Value: long } => "number",
        SopsScalar { Value: double } => "number",
        SopsScalar { Value: bool } => "boolean",
        _ => node.GetType().Name,
    };

    // SOPS's pattern with the greedy (.+) of its base64 fields made [^,]+ (base64 has no comma): the same values,
    // without backtracking over a long hostile one.
    [GeneratedRegex(@"^ENC\[AES256_GCM,data:([^,]*),iv:([^,]+),tag:([^,]+),type:([^\]]+)\]", RegexOptions.None, 1000)]
    private static partial Regex EncryptedValue();
}
