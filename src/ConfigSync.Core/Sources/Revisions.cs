using System.Security.Cryptography;
using System.Text;

namespace ConfigSync.Sources;

/// <summary>Revision ids for sources without their own (object stores, folders).</summary>
public static class Revisions
{
    /// <summary>The SHA-256 (hex) of the ordinally sorted (path, version) list.</summary>
    public static string FromListing(IEnumerable<SourceEntry> entries)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var entry in entries.OrderBy(e => e.Path, StringComparer.Ordinal))
        {
            hash.AppendData(Encoding.UTF8.GetBytes($"{entry.Path}\0{entry.Version}\0{(entry.Executable ? 'x' : '-')}\0{entry.LinkTarget}\n"));
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
