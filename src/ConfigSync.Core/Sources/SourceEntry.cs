namespace ConfigSync.Sources;

/// <summary>One file or symbolic link of a snapshot.</summary>
/// <param name="Path">Relative path with <c>/</c> separators, validated by the publisher.</param>
/// <param name="Size">Size in bytes, or -1 when the source does not know it before reading.</param>
/// <param name="Version">What identifies this content at the source (blob id, ETag, content hash, size+mtime):
/// the same path and version means the same bytes, so the publisher reuses the file from the live tree.</param>
/// <param name="Executable">Whether the entry carries the executable bit.</param>
/// <param name="LinkTarget">For a symbolic link, its target (relative, inside the tree); otherwise <c>null</c>.</param>
public sealed record SourceEntry(string Path, long Size, string Version, bool Executable = false, string? LinkTarget = null)
{
    /// <summary>Whether the entry is a symbolic link.</summary>
    public bool IsSymlink => LinkTarget is not null;
}
