using System.Text;
using ConfigSync.Sources;

namespace ConfigSync.Tests.TestSupport;

/// <summary>
/// A snapshot of entries an object store could list (keys with '..', NUL, file-and-folder pairs, lying sizes)
/// that no real folder can hold; content is the UTF-8 of each entry's text.
/// </summary>
public sealed class ListedSnapshot(string revision, IReadOnlyList<SourceEntry> entries, IReadOnlyDictionary<string, string> content) : SourceSnapshot(revision, entries)
{
    public int Reads { get; private set; }

    public Func<SourceEntry, Task>? BeforeRead { get; init; }

    public static ListedSnapshot Of(string revision, params (string Path, string Content)[] files) =>
        new(revision, [.. files.Select(f => new SourceEntry(f.Path, Encoding.UTF8.GetByteCount(f.Content), Version(f.Content)))], files.ToDictionary(f => f.Path, f => f.Content));

    public static string Version(string content) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(content)))[..16];

    public override async Task WriteContentAsync(SourceEntry entry, Stream destination, CancellationToken cancellationToken)
    {
        Reads++;
        if (BeforeRead is not null)
        {
            await BeforeRead(entry);
        }

        await destination.WriteAsync(Encoding.UTF8.GetBytes(content[entry.Path]), cancellationToken);
    }
}
