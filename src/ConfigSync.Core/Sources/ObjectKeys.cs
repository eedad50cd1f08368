using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace ConfigSync.Sources;

/// <summary>
/// The keys <c>configsync publish</c> stores bytes under, relative to the prefix:
/// <c>.configsync/objects/&lt;namespace&gt;/&lt;sha256[0:2]&gt;/&lt;sha256&gt;[.&lt;nonce&gt;]</c>. The namespace is a hash
/// of the index key, so two indexes in one prefix never share (and never delete) each other's objects; the SHA-256
/// names the bytes, so a changed file is a new object and nothing an index names is overwritten; the nonce gives bytes
/// a fresh key when their plain key is retired (its deletion may be pending). The publisher retires and deletes only
/// keys of this shape in its own namespace, and readers refuse an index whose objects' keys are not their bytes'.
/// </summary>
public static partial class ObjectKeys
{
    /// <summary>The key of bytes with <paramref name="sha256"/> for the index at <paramref name="indexKey"/>, with an optional <paramref name="nonce"/>.</summary>
    public static string For(string indexKey, string sha256, string? nonce = null) =>
        $".configsync/objects/{Namespace(indexKey)}/{sha256[..2]}/{sha256}{(nonce is null ? string.Empty : "." + nonce)}";

    /// <summary>A new nonce (8 characters of a-z, 0-9).</summary>
    public static string NewNonce() => string.Create(8, 0, static (span, _) =>
    {
        const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        for (var i = 0; i < span.Length; i++)
        {
            span[i] = Alphabet[RandomNumberGenerator.GetInt32(Alphabet.Length)];
        }
    });

    /// <summary>Whether <paramref name="key"/> is an object key of the index at <paramref name="indexKey"/>.</summary>
    public static bool Belongs(string key, string indexKey) =>
        Shape().Match(key) is { Success: true } match && match.Groups["ns"].Value == Namespace(indexKey);

    /// <summary>Whether <paramref name="key"/> is an object key of the index at <paramref name="indexKey"/> for bytes with <paramref name="sha256"/>.</summary>
    public static bool Holds(string key, string indexKey, string sha256) =>
        Shape().Match(key) is { Success: true } match && match.Groups["ns"].Value == Namespace(indexKey) && match.Groups["sha"].Value == sha256;

    private static string Namespace(string indexKey) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(indexKey)))[..12];

    [GeneratedRegex(@"^\.configsync/objects/(?<ns>[0-9a-f]{12})/(?<p>[0-9a-f]{2})/(?<sha>\k<p>[0-9a-f]{62})(\.[0-9a-z]{1,16})?\z", RegexOptions.CultureInvariant)]
    private static partial Regex Shape();
}
