using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace ConfigSync.Validation;

/// <summary>
/// Reads YAML as a stream of parser events (no recursion, no tree built) and refuses it before a
/// recursive loader (<c>YamlStream.Load</c>, the configuration's YAML provider) sees it: nesting
/// deeper than <see cref="DocumentLimits.MaxDepth"/>, aliases that expand to more than a node budget
/// or refer to a node that contains them, aliases to no anchor, and syntax errors, each at a line
/// and column. Sizes are those of the expanded tree: a scalar is 1 node, a collection 1 plus its
/// children, an alias the size of its anchor's node (computed when that node ends).
/// </summary>
internal static class YamlBounds
{
    /// <summary>
    /// Reads all of <paramref name="reader"/>. Throws <see cref="YamlLimitException"/> when a bound is
    /// passed and another <see cref="YamlException"/> for a syntax error; both carry the position.
    /// </summary>
    /// <param name="reader">The YAML text.</param>
    /// <param name="maxNodes">The node budget of the whole file, aliases expanded.</param>
    public static void Check(TextReader reader, long maxNodes)
    {
        var scanner = new Scanner(reader);
        var parser = new Parser(scanner);
        var open = new List<Frame>();
        var anchors = new Dictionary<string, Frame>(StringComparer.Ordinal);
        long expanded = 0;
        try
        {
            while (parser.MoveNext())
            {
                switch (parser.Current)
                {
                    case DocumentStart:
                        anchors.Clear();
                        break;
                    case NodeEvent node and (SequenceStart or MappingStart):
                        if (open.Count >= DocumentLimits.MaxDepth)
                        {
                            throw Limit(node, $"nested deeper than {DocumentLimits.MaxDepth} levels");
                        }

                        expanded = Count(expanded, 1, maxNodes, node);
                        var frame = new Frame { Start = expanded - 1, Open = true };
                        open.Add(frame);
                        if (!node.Anchor.IsEmpty)
                        {
                            anchors[node.Anchor.Value] = frame;
                        }

                        break;
                    case SequenceEnd or MappingEnd:
                        var closed = open[^1];
                        open.RemoveAt(open.Count - 1);
                        closed.Open = false;
                        closed.Size = expanded - closed.Start;
                        closed.Height++;
                        Nest(open, closed.Height);
                        break;
                    case Scalar scalar:
                        expanded = Count(expanded, 1, maxNodes, scalar);
                        if (!scalar.Anchor.IsEmpty)
                        {
                            anchors[scalar.Anchor.Value] = new Frame { Size = 1 };
                        }

                        break;
                    case AnchorAlias alias:
                        if (!anchors.TryGetValue(alias.Value.Value, out var target))
                        {
                            throw new SemanticErrorException(alias.Start, alias.End, $"the alias *{alias.Value} names no anchor defined before it in this document");
                        }

                        if (target.Open)
                        {
                            throw Limit(alias, $"the alias *{alias.Value} is inside the node it refers to (a cycle)");
                        }

                        if (open.Count + target.Height > DocumentLimits.MaxDepth)
                        {
                            throw Limit(alias, $"nested deeper than {DocumentLimits.MaxDepth} levels (through the alias *{alias.Value})");
                        }

                        expanded = Count(expanded, target.Size, maxNodes, alias);
                        Nest(open, target.Height);
                        break;
                }
            }
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner throws this, without a position, when a plain scalar inside a flow
            // collection continues on a line indented less than the block around it.
            var at = scanner.CurrentPosition;
            throw new SyntaxErrorException(at, at, "inside a flow collection ('[...]' or '{...}'), this line is indented less than the block around it (an unclosed '[' or '{' above?)");
        }
    }

    private static long Count(long expanded, long nodes, long maxNodes, ParsingEvent at)
    {
        expanded += nodes;
        if (expanded > maxNodes)
        {
            throw Limit(at, $"the YAML expands to more than {maxNodes} nodes (aliases)");
        }

        return expanded;
    }

    private static void Nest(List<Frame> open, int height)
    {
        if (open.Count > 0 && open[^1].Height < height)
        {
            open[^1].Height = height;
        }
    }

    private static YamlLimitException Limit(ParsingEvent at, string message) => new(at.Start, at.End, message);

    /// <summary>An open collection, or the expanded size and height of an anchored node.</summary>
    private sealed class Frame
    {
        /// <summary>The node count when the collection opened.</summary>
        public long Start { get; init; }

        /// <summary>Nodes, aliases expanded.</summary>
        public long Size { get; set; }

        /// <summary>Levels of collections: 0 for a scalar; while open, the highest of its children.</summary>
        public int Height { get; set; }

        /// <summary>Whether the collection has not ended yet.</summary>
        public bool Open { get; set; }
    }
}
