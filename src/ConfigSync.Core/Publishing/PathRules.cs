using System.Text;
using ConfigSync.Sources;

namespace ConfigSync.Publishing;

/// <summary>
/// Checks a snapshot's entries before anything is written: relative paths without <c>..</c>,
/// empty segments or NUL; no path that is both a file and a folder; links that stay inside the
/// tree; the file and byte limits. Every rejection names the entry.
/// </summary>
public static class PathRules
{
    private const int MaxNamed = 10;

    /// <summary>Returns the entries sorted by path, or throws <see cref="PublishException"/> naming the bad ones.</summary>
    public static IReadOnlyList<SourceEntry> Validate(IEnumerable<SourceEntry> entries, int maxFiles, long maxBytes, IReadOnlySet<string>? reservedTopLevel = null)
    {
        var sorted = entries.OrderBy(e => e.Path, StringComparer.Ordinal).ToList();
        var problems = new List<string>();
        var files = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in sorted)
        {
            if (Check(entry, reservedTopLevel) is { } problem)
            {
                problems.Add(problem);
            }
            else if (!files.Add(entry.Path))
            {
                problems.Add($"'{entry.Path}' appears twice");
            }
        }

        foreach (var entry in sorted)
        {
            // Any parent that is a file (or a link) would put this entry behind it: a collision, or an escape through a link.
            for (var slash = entry.Path.IndexOf('/', StringComparison.Ordinal); slash > 0; slash = entry.Path.IndexOf('/', slash + 1))
            {
                var parent = entry.Path[..slash];
                if (files.Contains(parent))
                {
                    problems.Add($"'{parent}' is both a file and a folder (it holds '{entry.Path}')");
                    break;
                }
            }
        }

        if (sorted.Count > maxFiles)
        {
            problems.Add($"the tree has {sorted.Count} entries, more than limits.maxFiles ({maxFiles})");
        }

        var bytes = sorted.Where(e => e.Size > 0 && !e.IsSymlink).Sum(e => e.Size);
        if (bytes > maxBytes)
        {
            problems.Add($"the tree has {bytes} bytes, more than limits.maxBytes ({maxBytes})");
        }

        if (problems.Count > 0)
        {
            var named = string.Join("; ", problems.Take(MaxNamed));
            var more = problems.Count > MaxNamed ? $" (and {problems.Count - MaxNamed} more)" : string.Empty;
            throw new PublishException($"refused the revision: {named}{more}");
        }

        return sorted;
    }

    private static string? Check(SourceEntry entry, IReadOnlySet<string>? reservedTopLevel)
    {
        var path = entry.Path;
        var shown = path.Replace("\0", "\\0", StringComparison.Ordinal);
        if (path.Length == 0)
        {
            return "an entry has an empty path";
        }

        if (path.Contains('\0', StringComparison.Ordinal))
        {
            return $"'{shown}' contains a NUL character";
        }

        if (path.StartsWith('/'))
        {
            return $"'{shown}' is an absolute path";
        }

        var segments = path.Split('/');
        foreach (var segment in segments)
        {
            if (segment.Length == 0)
            {
                return $"'{shown}' has an empty path segment";
            }

            if (segment is "." or "..")
            {
                return $"'{shown}' contains '{segment}'";
            }

            if (Encoding.UTF8.GetByteCount(segment) > 255)
            {
                return $"'{shown}' has a name longer than 255 bytes";
            }
        }

        if (reservedTopLevel is not null && reservedTopLevel.Contains(segments[0]))
        {
            return $"'{shown}' uses the reserved name '{segments[0]}'";
        }

        if (entry.LinkTarget is { } target)
        {
            return CheckLink(shown, segments, target);
        }

        return null;
    }

    private static string? CheckLink(string shown, string[] segments, string target)
    {
        if (target.Length == 0 || target.Contains('\0', StringComparison.Ordinal))
        {
            return $"'{shown}' is a symbolic link with an empty or invalid target";
        }

        if (target.StartsWith('/'))
        {
            return $"'{shown}' is a symbolic link to the absolute path '{target}', which leads outside the tree";
        }

        // Resolve the target against the link's own folder; it must never climb above the tree's root.
        var depth = segments.Length - 1;
        foreach (var part in target.Split('/'))
        {
            depth += part switch
            {
                "" or "." => 0,
                ".." => -1,
                _ => 1,
            };
            if (depth < 0)
            {
                return $"'{shown}' is a symbolic link to '{target}', which leads outside the tree";
            }
        }

        return null;
    }
}
