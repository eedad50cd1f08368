using ConfigSync.Diagnostics;
using LibGit2Sharp;

namespace ConfigSync.Sources.Git;

/// <summary>Lists a tree's files and links (recursing into submodules when asked), each owned by the repository holding its blob.</summary>
internal sealed class TreeWalker(Repository repo, SubmoduleCache? submodules, Commit commit, int maxEntries = int.MaxValue)
{
    private Dictionary<string, string>? _moduleUrls;

    /// <param name="tree">The tree to list.</param>
    /// <param name="repoPrefix">Where <paramref name="tree"/> is in its repository (for submodule paths).</param>
    /// <param name="publishPrefix">Where its entries go in the published tree.</param>
    /// <param name="entries">Receives the entries.</param>
    /// <param name="owners">Receives the repository of each entry.</param>
    public void Walk(Tree tree, string repoPrefix, string publishPrefix, List<SourceEntry> entries, Dictionary<string, Repository> owners)
    {
        foreach (var item in tree)
        {
            var path = publishPrefix + item.Name;
            switch (item.Mode)
            {
                case Mode.Directory:
                    Walk((Tree)item.Target, repoPrefix + item.Name + "/", path + "/", entries, owners);
                    break;
                case Mode.NonExecutableFile or Mode.NonExecutableGroupWritableFile or Mode.ExecutableFile:
                    // The size from the object's header (git_odb_read_header): the blob is inflated once, when written.
                    var id = item.Target.Id;
                    entries.Add(new SourceEntry(path, repo.ObjectDatabase.RetrieveObjectMetadata(id).Size, id.Sha, item.Mode == Mode.ExecutableFile));
                    owners[path] = repo;
                    CheckCount(entries);
                    break;
                case Mode.SymbolicLink:
                    var link = (Blob)item.Target;
                    entries.Add(new SourceEntry(path, link.Size, link.Sha, LinkTarget: link.GetContentText()));
                    owners[path] = repo;
                    CheckCount(entries);
                    break;
                case Mode.GitLink when submodules is not null:
                    var url = ModuleUrl(repoPrefix + item.Name);
                    var (subRepo, subCommit) = submodules.Resolve(url, item.Target.Sha, repoPrefix + item.Name);
                    new TreeWalker(subRepo, submodules, subCommit, maxEntries).Walk(subCommit.Tree, string.Empty, path + "/", entries, owners);
                    break;
                default:
                    // A submodule with submodules: off is left out, as git leaves an empty folder.
                    break;
            }
        }
    }

    private void CheckCount(List<SourceEntry> entries)
    {
        if (entries.Count > maxEntries)
        {
            throw SourceException.TooManyEntries($"commit {commit.Sha[..12]}", maxEntries);
        }
    }

    private string ModuleUrl(string modulePath)
    {
        _moduleUrls ??= ParseGitmodules();
        if (!_moduleUrls.TryGetValue(modulePath, out var url))
        {
            throw new SourceException($"submodule '{modulePath}' has no url in .gitmodules of commit {commit.Sha[..12]}");
        }

        var remote = repo.Network.Remotes["origin"]?.Url ?? string.Empty;
        return url.StartsWith("./", StringComparison.Ordinal) || url.StartsWith("../", StringComparison.Ordinal) ? Relative(remote, url) : url;
    }

    private Dictionary<string, string> ParseGitmodules()
    {
        var modules = new Dictionary<string, string>(StringComparer.Ordinal);
        if (commit[".gitmodules"]?.Target is not Blob blob)
        {
            return modules;
        }

        string? path = null;
        string? url = null;
        foreach (var raw in blob.GetContentText().Split('\n').Append("[end]"))
        {
            var line = raw.Trim();
            if (line.StartsWith('['))
            {
                if (path is not null && url is not null)
                {
                    modules[path.Trim('/')] = url;
                }

                path = url = null;
                continue;
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                continue;
            }

            var key = line[..equals].Trim();
            var value = line[(equals + 1)..].Trim();
            if (key == "path")
            {
                path = value;
            }
            else if (key == "url")
            {
                url = value;
            }
        }

        return modules;
    }

    /// <summary>Resolves a relative submodule URL (<c>../lib.git</c>) against the superproject's URL, as git does.</summary>
    internal static string Relative(string baseUrl, string relative)
    {
        var result = baseUrl.TrimEnd('/');
        while (true)
        {
            if (relative.StartsWith("./", StringComparison.Ordinal))
            {
                relative = relative[2..];
            }
            else if (relative.StartsWith("../", StringComparison.Ordinal))
            {
                var cut = Math.Max(result.LastIndexOf('/'), result.LastIndexOf(':'));
                if (cut < 0)
                {
                    throw new SourceException($"cannot resolve submodule url '{relative}' against {Redact.Url(baseUrl)}");
                }

                result = result[cut] == ':' ? result[..(cut + 1)] : result[..cut];
                relative = relative[3..];
            }
            else
            {
                break;
            }
        }

        var separator = result.EndsWith(':') ? string.Empty : "/";
        return result + separator + relative;
    }
}
