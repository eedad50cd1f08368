using System.Text.Json;
using System.Text.RegularExpressions;

namespace ConfigSync.Sources;

/// <summary>
/// The index object <c>configsync publish</c> writes last into a bucket or container prefix: the revision it names and,
/// for every file of that revision, its path in the tree, the key of the object holding its bytes (content-addressed,
/// relative to the prefix, <see cref="ObjectKeys"/>), the ETag the store gave that object, its size and the SHA-256 of its bytes; and the keys
/// an earlier index named that this one no longer does (<see cref="Retired"/>), deleted after a grace period. A reader
/// with <c>source.index</c> fetches only this object at each poll (conditionally: an unchanged index is one 304), then
/// downloads exactly the objects its live tree lacks, each pinned to its ETag and checked against its SHA-256.
/// </summary>
/// <param name="Revision">The revision (a git commit, or the hash of a listing).</param>
/// <param name="Created">When it was published.</param>
/// <param name="Source">What it was published from (credentials removed).</param>
/// <param name="Objects">The files, sorted by path.</param>
public sealed partial record SourceIndex(string Revision, DateTimeOffset Created, string Source, IReadOnlyList<IndexedObject> Objects)
{
    /// <summary>Keys an earlier index named and this one does not: the publisher deletes them once readers of that index are done.</summary>
    public IReadOnlyList<string> Retired { get; init; } = [];

    /// <summary>The value of the <c>format</c> field this version reads and writes.</summary>
    public const string Format = "configsync.io/index/v1";

    /// <summary>The largest index read, in bytes (about 100,000 objects).</summary>
    public const long MaxBytes = 32L * 1024 * 1024;

    /// <summary>The index's JSON, UTF-8, with sorted objects.</summary>
    public byte[] ToJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("format", Format);
            json.WriteString("revision", Revision);
            json.WriteString("created", Created);
            json.WriteString("source", Source);
            json.WriteStartArray("objects");
            foreach (var item in Objects.OrderBy(o => o.Path, StringComparer.Ordinal))
            {
                json.WriteStartObject();
                json.WriteString("path", item.Path);
                json.WriteString("key", item.Key);
                json.WriteString("etag", item.ETag);
                json.WriteNumber("size", item.Size);
                json.WriteString("sha256", item.Sha256);
                if (item.Executable)
                {
                    json.WriteBoolean("executable", true);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("retired");
            foreach (var key in Retired.Order(StringComparer.Ordinal))
            {
                json.WriteStringValue(key);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>Reads an index; a <see cref="SourceException"/> names <paramref name="name"/> and what is wrong.</summary>
    /// <param name="json">The object's bytes.</param>
    /// <param name="name">The index's key or blob name, for messages.</param>
    /// <param name="indexKey">The index key relative to the prefix: every object's key must be its bytes' key under it (<see cref="ObjectKeys"/>).</param>
    /// <param name="maxEntries">The most objects accepted (<c>limits.maxFiles</c>).</param>
    public static SourceIndex Parse(ReadOnlySpan<byte> json, string name, string indexKey, int maxEntries)
    {
        if (!System.Text.Unicode.Utf8.IsValid(json))
        {
            throw new SourceException($"index '{name}' is not valid UTF-8; nothing is published from it");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw new SourceException($"index '{name}' is not JSON ({e.Message}); nothing is published from it");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || String(root, "format", name) != Format)
            {
                throw new SourceException($"index '{name}': 'format' is not '{Format}' (written by a newer or another program?); nothing is published from it");
            }

            var revision = String(root, "revision", name);
            if (!RevisionPattern().IsMatch(revision))
            {
                throw new SourceException($"index '{name}': revision '{Publishing.PathRules.Shown(revision)}' is not 1-128 letters, digits, '.', '_', ':' or '-'; nothing is published from it");
            }

            var created = root.TryGetProperty("created", out var when) && when.ValueKind == JsonValueKind.String && when.TryGetDateTimeOffset(out var at) ? at : DateTimeOffset.MinValue;
            var source = root.TryGetProperty("source", out var from) && from.ValueKind == JsonValueKind.String ? Publishing.PathRules.Shown(from.GetString()!) : string.Empty;
            if (!root.TryGetProperty("objects", out var objects) || objects.ValueKind != JsonValueKind.Array)
            {
                throw new SourceException($"index '{name}': 'objects' is missing or not a list; nothing is published from it");
            }

            if (objects.GetArrayLength() > maxEntries)
            {
                throw new SourceException($"index '{name}' names more than limits.maxFiles ({maxEntries}) objects; nothing is published from it");
            }

            var items = new List<IndexedObject>(objects.GetArrayLength());
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var item in objects.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object)
                {
                    throw new SourceException($"index '{name}': an entry of 'objects' is not an object");
                }

                var path = String(item, "path", name);
                var shown = Publishing.PathRules.Shown(path);
                var key = String(item, "key", name);
                var etag = String(item, "etag", name);
                var sha256 = String(item, "sha256", name);
                if (!item.TryGetProperty("size", out var size) || !size.TryGetInt64(out var bytes) || bytes < 0)
                {
                    throw new SourceException($"index '{name}': object '{shown}' has no valid 'size'");
                }

                if (etag.Length is 0 or > 256 || etag.Any(char.IsControl))
                {
                    throw new SourceException($"index '{name}': object '{shown}' has no valid 'etag'");
                }

                if (sha256.Length != 64 || !sha256.All(char.IsAsciiHexDigitLower))
                {
                    throw new SourceException($"index '{name}': object '{shown}' has no valid 'sha256' (64 lowercase hex digits)");
                }

                if (!ObjectKeys.Holds(key, indexKey, sha256))
                {
                    throw new SourceException($"index '{name}': object '{shown}' has key '{Publishing.PathRules.Shown(key)}', not the key of its SHA-256 under this index (.configsync/objects/...); nothing is published from it");
                }

                if (!seen.Add(path))
                {
                    throw new SourceException($"index '{name}' names '{shown}' twice; nothing is published from it");
                }

                var executable = item.TryGetProperty("executable", out var x) && x.ValueKind == JsonValueKind.True;
                items.Add(new IndexedObject(path, key, etag, bytes, sha256, executable));
            }

            var retired = new List<string>();
            if (root.TryGetProperty("retired", out var keys) && keys.ValueKind == JsonValueKind.Array)
            {
                foreach (var key in keys.EnumerateArray())
                {
                    if (key.ValueKind != JsonValueKind.String || !ObjectKeys.Belongs(Text(key, "retired", name), indexKey))
                    {
                        throw new SourceException($"index '{name}': an entry of 'retired' is not an object key of this index (.configsync/objects/...); nothing is published from it");
                    }

                    retired.Add(key.GetString()!);
                }
            }

            return new SourceIndex(revision, created, source, items) { Retired = retired };
        }
    }

    /// <summary>Reads a stream of at most <paramref name="maxBytes"/> bytes (<see cref="MaxBytes"/> by default); past it, <see cref="TooLargeException"/>.</summary>
    public static Task<byte[]> ReadAsync(Stream stream, string name, CancellationToken cancellationToken, long maxBytes = MaxBytes) =>
        BoundedRead.ReadAllAsync(stream, maxBytes, () => maxBytes == MaxBytes
            ? $"index '{name}' is larger than {MaxBytes / (1024 * 1024)} MiB; nothing is published from it"
            : $"'{name}' is larger than {maxBytes} bytes", cancellationToken);

    /// <summary>What <c>/status</c> and the manifest show of the index: when it was published, and from what.</summary>
    public IReadOnlyDictionary<string, string> Details() => new Dictionary<string, string>
    {
        ["indexPublished"] = Created.ToString("o", System.Globalization.CultureInfo.InvariantCulture),
        ["indexSource"] = Source,
    };

    /// <summary>
    /// The index's objects as source entries. The version, which decides whether a live file is reused, is the ETag and
    /// the SHA-256: an ETag alone (an MD5 on S3) could be matched by other bytes.
    /// </summary>
    public IReadOnlyList<SourceEntry> Entries() => [.. Objects.Select(o => new SourceEntry(o.Path, o.Size, $"{o.ETag}:{o.Sha256}", o.Executable))];

    private static string String(JsonElement element, string property, string name) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? Text(value, property, name)
            : throw new SourceException($"index '{name}': '{property}' is missing or not a string; nothing is published from it");

    /// <summary>A JSON string's text; an escape that is no text (a lone surrogate, <c>\ud800</c>) is refused by name.</summary>
    private static string Text(JsonElement value, string property, string name)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException e)
        {
            throw new SourceException($"index '{name}': '{property}' is not valid text ({e.Message}); nothing is published from it", e);
        }
    }

    // \z, not $: $ also matches before a final newline, which would pass "abc\n" into a header.
    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\z", RegexOptions.CultureInvariant)]
    private static partial Regex RevisionPattern();
}

/// <summary>The stream held more than it may.</summary>
public sealed class TooLargeException : SourceException
{
    /// <summary>Creates the exception.</summary>
    public TooLargeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public TooLargeException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public TooLargeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>One file an index names, and the object holding its bytes.</summary>
/// <param name="Path">The published file's path in the tree.</param>
/// <param name="Key">The object's key, relative to the prefix (<see cref="ObjectKeys"/>).</param>
/// <param name="ETag">The ETag the store gave the object, without quotes.</param>
/// <param name="Size">Its size in bytes.</param>
/// <param name="Sha256">The SHA-256 of its bytes, lowercase hex.</param>
/// <param name="Executable">Whether it is published executable.</param>
public sealed record IndexedObject(string Path, string Key, string ETag, long Size, string Sha256, bool Executable = false);
