using System.Text.Json;
using System.Text.RegularExpressions;

namespace ConfigSync.Sources;

/// <summary>
/// The index object <c>configsync publish</c> writes last into a bucket or container prefix: the revision it names and,
/// for every object of that revision, its path (relative to the prefix), the ETag the store gave it, its size and the
/// SHA-256 of its bytes. A reader with <c>source.index</c> fetches only this object at each poll (conditionally: an
/// unchanged index is one 304), then downloads exactly the objects it names, each pinned to its ETag.
/// </summary>
/// <param name="Revision">The revision (a git commit, or the hash of a listing).</param>
/// <param name="Created">When it was published.</param>
/// <param name="Source">What it was published from (credentials removed).</param>
/// <param name="Objects">The objects, sorted by path.</param>
public sealed partial record SourceIndex(string Revision, DateTimeOffset Created, string Source, IReadOnlyList<IndexedObject> Objects)
{
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
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>Reads an index; a <see cref="SourceException"/> names <paramref name="name"/> and what is wrong.</summary>
    /// <param name="json">The object's bytes.</param>
    /// <param name="name">The index's key or blob name, for messages.</param>
    /// <param name="maxEntries">The most objects accepted (<c>limits.maxFiles</c>).</param>
    public static SourceIndex Parse(ReadOnlySpan<byte> json, string name, int maxEntries)
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

                if (!seen.Add(path))
                {
                    throw new SourceException($"index '{name}' names '{shown}' twice; nothing is published from it");
                }

                var executable = item.TryGetProperty("executable", out var x) && x.ValueKind == JsonValueKind.True;
                items.Add(new IndexedObject(path, etag, bytes, sha256, executable));
            }

            return new SourceIndex(revision, created, source, items);
        }
    }

    /// <summary>Reads a stream of at most <see cref="MaxBytes"/> bytes.</summary>
    public static async Task<byte[]> ReadAsync(Stream stream, string name, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBytes)
            {
                throw new SourceException($"index '{name}' is larger than {MaxBytes / (1024 * 1024)} MiB; nothing is published from it");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>The index's objects as source entries (the version is the object's ETag).</summary>
    public IReadOnlyList<SourceEntry> Entries() => [.. Objects.Select(o => new SourceEntry(o.Path, o.Size, o.ETag, o.Executable))];

    private static string String(JsonElement element, string property, string name) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new SourceException($"index '{name}': '{property}' is missing or not a string; nothing is published from it");

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex RevisionPattern();
}

/// <summary>One object an index names.</summary>
/// <param name="Path">Its path relative to the prefix (the published file's path).</param>
/// <param name="ETag">The ETag the store gave it, without quotes.</param>
/// <param name="Size">Its size in bytes.</param>
/// <param name="Sha256">The SHA-256 of its bytes, lowercase hex.</param>
/// <param name="Executable">Whether it is published executable.</param>
public sealed record IndexedObject(string Path, string ETag, long Size, string Sha256, bool Executable = false);
