namespace ConfigSync.Tests.TestSupport;

/// <summary>
/// Makes random hostile trees for real in a folder: folders, files and symbolic links (chains, links to
/// folders, <c>..</c> after links, absolute targets), now and then a name a layout keeps or one with a
/// control character. Shared by the dir-source and git-source generators.
/// </summary>
internal static class HostileTrees
{
    private static readonly string[] Names = ["a", "b", "c", "x", "y", "conf"];

    /// <summary>Makes a random tree in <paramref name="source"/>; returns the paths of its links.</summary>
    public static List<string> Generate(Random rng, string source)
    {
        Directory.CreateDirectory(source);
        var folders = new List<string> { string.Empty };
        for (var n = rng.Next(1, 6); n > 0; n--)
        {
            var parent = folders[rng.Next(folders.Count)];
            if (parent.Count(c => c == '/') < 5)
            {
                var folder = Join(parent, Names[rng.Next(Names.Length)]);
                if (!folders.Contains(folder))
                {
                    folders.Add(folder);
                    Directory.CreateDirectory(Path.Combine(source, folder));
                }
            }
        }

        var used = new HashSet<string>(folders, StringComparer.Ordinal);
        foreach (var folder in folders.Where(f => f.Length > 0).OrderBy(f => rng.Next()).Take(2))
        {
            AddFile(source, Join(folder, "f.yaml"), used);
        }

        AddFile(source, "root.yaml", used);
        if (rng.Next(12) == 0)
        {
            // Names a layout keeps, or that could forge a log line.
            var name = new[] { "..data", "..2026_01_01_00_00_00.1", ".configsync", "bad\u0001name", "line\nbreak" }[rng.Next(5)];
            AddFile(source, name, used);
        }

        var links = new List<string>();
        for (var n = rng.Next(1, 6); n > 0; n--)
        {
            var folder = folders[rng.Next(folders.Count)];
            var path = Join(folder, $"l{n}");
            if (!used.Add(path))
            {
                continue;
            }

            File.CreateSymbolicLink(Path.Combine(source, path), Target(rng, folder, folders, links));
            links.Add(path);
        }

        return links;
    }

    private static string Target(Random rng, string folder, List<string> folders, List<string> links)
    {
        var depth = folder.Length == 0 ? 0 : folder.Count(c => c == '/') + 1;

        // Mostly within the tree's depth, one link in four climbing past it.
        var up = string.Concat(Enumerable.Repeat("../", rng.Next(4) == 0 ? depth + rng.Next(1, 3) : rng.Next(0, depth + 1)));
        var someLink = links.Count > 0 ? links[rng.Next(links.Count)] : "x";
        var someFolder = folders[rng.Next(folders.Count)];
        var target = rng.Next(9) switch
        {
            0 => "/etc/passwd",
            1 => up + "root.yaml",
            2 => up + Join(someFolder, "f.yaml"),
            // Through another link, then climbing from wherever it led.
            3 => up + someLink + "/" + string.Concat(Enumerable.Repeat("../", rng.Next(1, 9))) + "etc/passwd",
            4 => up + someLink,
            5 => up + someFolder + "/./" + string.Concat(Enumerable.Repeat("../", rng.Next(0, 4))),
            6 => string.Concat(Enumerable.Repeat("../", depth)),
            7 => "missing/" + string.Concat(Enumerable.Repeat("../", rng.Next(1, depth + 3))) + "root.yaml",
            _ => up.Length == 0 ? "." : up[..^1],
        };
        return target.Length == 0 ? "." : target;
    }

    private static void AddFile(string source, string path, HashSet<string> used)
    {
        if (used.Add(path))
        {
            File.WriteAllText(Path.Combine(source, path), path);
        }
    }

    private static string Join(string folder, string name) => folder.Length == 0 ? name : $"{folder}/{name}";
}
