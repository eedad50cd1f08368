using System.Text;
using ConfigSync.Sources;

namespace ConfigSync.Publishing;

/// <summary>
/// Checks a snapshot's entries before anything is written: relative paths without <c>..</c>,
/// empty segments, NUL or control characters, names of at most 255 bytes, paths of at most
/// 4,095 bytes and 100 levels; no path that is both a file and a folder; links that stay inside
/// the tree however the kernel resolves them (<see cref="LinkResolver"/>); the file and byte limits;
/// not an empty tree. Every rejection names the entry (control characters shown escaped, so a name
/// cannot forge log lines).
/// </summary>
public static class PathRules
{
    /// <summary>Deepest nesting accepted.</summary>
    public const int MaxDepth = 100;

    /// <summary>Longest path accepted, in UTF-8 bytes (PATH_MAX less the terminating NUL).</summary>
    public const int MaxPathBytes = 4095;

    private const int MaxNamed = 10;

    /// <summary>Returns the entries sorted by path, or throws <see cref="PublishException"/> naming the bad ones.</summary>
    /// <param name="entries">The snapshot's entries.</param>
    /// <param name="maxFiles">limits.maxFiles.</param>
    /// <param name="maxBytes">limits.maxBytes.</param>
    /// <param name="reservedTopLevel">Says why a top-level name belongs to the layout (null when it is free).</param>
    public static IReadOnlyList<SourceEntry> Validate(IEnumerable<SourceEntry> entries, int maxFiles, long maxBytes, Func<string, string?>? reservedTopLevel = null)
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
                problems.Add($"'{Shown(entry.Path)}' appears twice");
            }
        }

        var links = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in sorted)
        {
            if (entry.LinkTarget is { } target && Check(entry, reservedTopLevel) is null)
            {
                links[entry.Path] = target;
            }
        }

        foreach (var (path, target) in links)
        {
            if (LinkResolver.Escape(path, target, links) is { } escape)
            {
                problems.Add($"'{Shown(path)}' is a symbolic link to '{Shown(target)}', which {escape}");
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
                    problems.Add($"'{Shown(parent)}' is both a file and a folder (it holds '{Shown(entry.Path)}')");
                    break;
                }
            }
        }

        if (sorted.Count == 0)
        {
            // Publishing nothing over a live tree would take every file away from the app, and an
            // empty listing is far more often a wrong prefix or path than an intent.
            problems.Add("the source has no files (check the source's path or prefix); nothing is published");
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

    /// <summary>Why a path read back from the volume (a manifest's entry) breaks the path rules, or null when it keeps them.</summary>
    public static string? ProblemOf(string path) => Check(new SourceEntry(path, 0, string.Empty), null);

    private static string? Check(SourceEntry entry, Func<string, string?>? reservedTopLevel)
    {
        var path = entry.Path;
        var shown = Shown(path);
        if (path.Length == 0)
        {
            return "an entry has an empty path";
        }

        if (path.Contains('\0', StringComparison.Ordinal))
        {
            return $"'{shown}' contains a NUL character";
        }

        if (path.Any(char.IsControl))
        {
            return $"'{shown}' contains a control character";
        }

        if (Encoding.UTF8.GetByteCount(path) > MaxPathBytes)
        {
            return $"'{Truncated(shown)}' is longer than {MaxPathBytes} bytes";
        }

        if (path.StartsWith('/'))
        {
            return $"'{shown}' is an absolute path";
        }

        var segments = path.Split('/');
        if (segments.Length > MaxDepth)
        {
            return $"'{Truncated(shown)}' is nested {segments.Length} levels deep, more than {MaxDepth}";
        }

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

            if (segment.Equals(".git", StringComparison.OrdinalIgnoreCase))
            {
                // As git refuses such tree entries: a repository planted in the app's folder (its config and hooks
                // run by whoever runs git there) is never published. A checkout synced as a folder excludes it.
                return $"'{shown}' is or is inside '{segment}', which is never published (exclude it: exclude: [\".git/**\", \"**/.git/**\"])";
            }

            if (Encoding.UTF8.GetByteCount(segment) > 255)
            {
                return $"'{Truncated(shown)}' has a name longer than 255 bytes";
            }
        }

        if (reservedTopLevel?.Invoke(segments[0]) is { } reserved)
        {
            return $"'{shown}' uses the name '{Shown(segments[0])}', which {reserved}";
        }

        if (entry.LinkTarget is { } target)
        {
            return CheckLink(shown, target);
        }

        return null;
    }

    private static string? CheckLink(string shown, string target)
    {
        if (target.Length == 0 || target.Contains('\0', StringComparison.Ordinal))
        {
            return $"'{shown}' is a symbolic link with an empty or invalid target";
        }

        if (target.StartsWith('/'))
        {
            return $"'{shown}' is a symbolic link to the absolute path '{Shown(target)}', which leads outside the tree";
        }

        if (Encoding.UTF8.GetByteCount(target) > MaxPathBytes)
        {
            return $"'{shown}' is a symbolic link with a target longer than {MaxPathBytes} bytes";
        }

        return null;
    }

    /// <summary>The path as it may be printed: NUL and other control characters escaped (\0, \xNN).</summary>
    public static string Shown(string path)
    {
        if (!path.Any(char.IsControl))
        {
            return path;
        }

        var text = new StringBuilder(path.Length + 8);
        foreach (var c in path)
        {
            text.Append(c switch
            {
                '\0' => "\\0",
                _ when char.IsControl(c) => $"\\x{(int)c:x2}",
                _ => c.ToString(),
            });
        }

        return text.ToString();
    }

    private static string Truncated(string shown) => shown.Length <= 120 ? shown : shown[..60] + "..." + shown[^40..];
}
