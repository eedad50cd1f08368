using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ConfigSync.Publishing;

/// <summary>What one published tree holds: written beside the tree, served by <c>/status</c>, verified at start.</summary>
/// <param name="Sync">The sync's name.</param>
/// <param name="Revision">The source revision.</param>
/// <param name="Source">What the source reads (credentials removed); files are reused only from the same source.</param>
/// <param name="Tree">The tree's folder name.</param>
/// <param name="CreatedAt">When it was written.</param>
/// <param name="Details">Source facts (for example commit subject).</param>
/// <param name="Files">Every file and link, sorted by path.</param>
public sealed record Manifest(
    string Sync,
    string Revision,
    string Source,
    string Tree,
    DateTimeOffset CreatedAt,
    IReadOnlyDictionary<string, string> Details,
    IReadOnlyList<ManifestFile> Files)
{
    /// <summary>The total size of the files.</summary>
    [JsonIgnore]
    public long Bytes => Files.Sum(f => f.Size);

    /// <summary>Serialises the manifest (indented JSON).</summary>
    /// <remarks>
    /// Through a stream of its own: <c>SerializeToUtf8Bytes</c> grows a buffer rented from the shared
    /// pool, which then keeps the largest (1 MiB for 2,000 files) in an idle daemon for minutes.
    /// </remarks>
    public byte[] ToJson()
    {
        using var stream = new MemoryStream();
        JsonSerializer.Serialize(stream, this, ManifestJsonContext.Default.Manifest);
        return stream.ToArray();
    }

    /// <summary>Largest manifest read back (2,000 files take about 600 KB; limits.maxFiles is at most a few tens of thousands).</summary>
    public const int MaxBytes = 64 * 1024 * 1024;

    /// <summary>Reads a manifest file, or returns null when it is missing, a link, too large or unreadable.</summary>
    public static Manifest? TryRead(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.LinkTarget is null && info.Exists && info.Length <= MaxBytes ? TryParse(File.ReadAllBytes(path)) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Why a manifest read back from the volume cannot be trusted (anyone who can write the volume can
    /// edit it), or null: it must name <paramref name="expectedTree"/>, and every entry must keep the path
    /// rules (clean-up acts on these paths), appear once, and carry a valid mode and SHA-256.
    /// </summary>
    public string? Problem(string expectedTree)
    {
        try
        {
            if (Tree != expectedTree)
            {
                return $"it names tree '{PathRules.Shown(Tree ?? string.Empty)}', not '{expectedTree}'";
            }

            if (Files is null)
            {
                return "it lists no files";
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var file in Files)
            {
                if (file?.Path is not { } path)
                {
                    return "an entry has no path";
                }

                if (PathRules.ProblemOf(path) is { } bad)
                {
                    return $"an entry breaks the path rules ({bad})";
                }

                if (!seen.Add(file.Path))
                {
                    return $"'{PathRules.Shown(file.Path)}' appears twice";
                }

                if (file.Mode is null || file.Mode.Length is < 3 or > 5 || !file.Mode.All(c => c is >= '0' and <= '7') || file.Sha256 is not { Length: 64 } || file.Size < 0)
                {
                    return $"'{PathRules.Shown(file.Path)}' has no valid mode, size or SHA-256";
                }
            }

            return null;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
        {
            return $"it is malformed ({e.GetType().Name})";
        }
    }

    /// <summary>The manifest for network callers: each decrypted file's plaintext SHA-256 and size left out (the encrypted blob's hash stays).</summary>
    public Manifest WithoutPlaintextHashes() =>
        this with { Files = [.. Files.Select(f => f.SourceSha256 is null ? f : f with { Sha256 = "(decrypted: not shown)", Size = -1 })] };

    /// <summary>Parses a manifest, or returns null when it is not one.</summary>
    public static Manifest? TryParse(byte[]? json)
    {
        try
        {
            return json is null ? null : JsonSerializer.Deserialize(json, ManifestJsonContext.Default.Manifest);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>One entry of a manifest.</summary>
/// <param name="Path">Relative path.</param>
/// <param name="Size">Bytes (for a link, the length of its target).</param>
/// <param name="Sha256">Hex SHA-256 of the content (for a link, of its target).</param>
/// <param name="Mode">Octal permission mode, for example <c>0644</c>.</param>
/// <param name="Version">The source's version of the entry.</param>
/// <param name="Link">For a symbolic link, its target.</param>
public sealed record ManifestFile(string Path, long Size, string Sha256, string Mode, string Version, string? Link = null)
{
    /// <summary>What was done to the source's bytes before they were written (<c>sops</c>: selected for SOPS decryption), or null.</summary>
    public string? Transform { get; init; }

    /// <summary>For a file that was decrypted, the SHA-256 of the encrypted bytes the source gave; else null.</summary>
    public string? SourceSha256 { get; init; }

    /// <summary>Formats a mode as four octal digits.</summary>
    public static string FormatMode(UnixFileMode mode) => Convert.ToString((int)mode, 8).PadLeft(4, '0');

    /// <summary>The mode as a <see cref="UnixFileMode"/>.</summary>
    [JsonIgnore]
    public UnixFileMode UnixMode => (UnixFileMode)Convert.ToInt32(Mode, 8);

    /// <summary>Whether content, mode and kind are the same.</summary>
    public bool SameContent(ManifestFile other) =>
        Sha256 == other.Sha256 && Mode == other.Mode && Link == other.Link && Size == other.Size;

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Path} ({Size} bytes)");
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(Manifest))]
internal sealed partial class ManifestJsonContext : JsonSerializerContext;
