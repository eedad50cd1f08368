namespace ConfigSync.Publishing;

/// <summary>
/// Decides whether a symbolic link of a tree stays inside it by resolving its target the way the
/// kernel will once the tree is on disk: component by component from the link's own folder, every
/// link met on the way (the tree's own, at any depth, to files or folders) replaced by its target
/// before the walk goes on, so <c>..</c> after a link climbs from where that link leads. Counting
/// <c>..</c> on paper is not enough: with <c>x -> ../../..</c> (the tree's root, seen from three
/// folders down) beside it, <c>y -> x/../etc/passwd</c> looks harmless and reads <c>/etc/passwd</c>.
/// </summary>
/// <remarks>
/// Stricter than the kernel where the kernel would stop: a name the tree does not have, or a file
/// used as a folder, is walked through as if it were a folder, so a later change of the tree can
/// never turn a refused-as-dangling path into an escape. A chain of more than
/// <see cref="MaxFollows"/> links is refused (the kernel answers ELOOP from 40).
/// </remarks>
internal static class LinkResolver
{
    /// <summary>Links followed while resolving one path, at most (Linux's MAXSYMLINKS).</summary>
    public const int MaxFollows = 40;

    /// <summary>
    /// Returns why the link at <paramref name="linkPath"/> (relative to the tree's root, <c>/</c>
    /// separators) leads outside the tree, or null when every step of its resolution stays inside.
    /// </summary>
    /// <param name="linkPath">The link's path in the tree.</param>
    /// <param name="target">The link's target.</param>
    /// <param name="links">Every link of the tree: path to target.</param>
    public static string? Escape(string linkPath, string target, IReadOnlyDictionary<string, string> links)
    {
        // Where the walk stands: the folders from the root down to the current one.
        var at = new List<string>(linkPath.Split('/'));
        at.RemoveAt(at.Count - 1);

        // What is left to walk, first component on top.
        var pending = new Stack<string>();
        Push(pending, target);
        var follows = 0;
        while (pending.Count > 0)
        {
            var part = pending.Pop();
            if (part is "" or ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (at.Count == 0)
                {
                    return follows == 0 ? "leads outside the tree" : "leads outside the tree through the tree's own links";
                }

                at.RemoveAt(at.Count - 1);
                continue;
            }

            at.Add(part);
            if (links.TryGetValue(string.Join('/', at), out var next))
            {
                if (++follows > MaxFollows)
                {
                    return $"goes through more than {MaxFollows} links (a loop?)";
                }

                if (next.StartsWith('/'))
                {
                    return "leads to an absolute path through the tree's own links";
                }

                // The link's target is read from the folder that holds the link.
                at.RemoveAt(at.Count - 1);
                Push(pending, next);
            }
        }

        return null;
    }

    private static void Push(Stack<string> pending, string path)
    {
        var parts = path.Split('/');
        for (var i = parts.Length - 1; i >= 0; i--)
        {
            pending.Push(parts[i]);
        }
    }
}
