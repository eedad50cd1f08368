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
    /// <summary>
    /// A relative submodule URL resolved against the source's URL as git does, on the path only: the scheme and host
    /// (<c>https://host</c>, <c>ssh://user@host</c>, or <c>user@host:</c>) stay, a user and password of an http(s) source
    /// URL are dropped (they are the source's, not the submodule's), and climbing above the path's root is refused by name.
    /// </summary>
    internal static string Relative(string baseUrl, string relative)
    {
        var original = relative;
        string prefix, path;
        if (GitUrl.Split(baseUrl) is { } split)
        {
            // Over http(s) a user and password are credentials, the source's alone; an ssh user is the account to log in as.
            prefix = split.Scheme + "://" + (GitUrl.Classify(baseUrl) == GitTransport.Http ? GitUrl.HostAndPort(split.Authority) : split.Authority);
            path = split.Path;
        }
        else if (baseUrl.IndexOf(':') is var colon and > 0 && !baseUrl[..colon].Contains('/', StringComparison.Ordinal))
        {
            prefix = baseUrl[..(colon + 1)]; // scp-like user@host:path
            path = baseUrl[(colon + 1)..];
        }
        else
        {
            prefix = string.Empty; // a local path
            path = baseUrl;
        }

        path = path.TrimEnd('/');
        while (true)
        {
            if (relative.StartsWith("./", StringComparison.Ordinal))
            {
                relative = relative[2..];
            }
            else if (relative.StartsWith("../", StringComparison.Ordinal))
            {
                if (path.Trim('/').Length == 0)
                {
                    throw new SourceException($"submodule url '{original}' climbs above the root of {Redact.Url(baseUrl)}");
                }

                var cut = path.LastIndexOf('/');
                path = cut < 0 ? string.Empty : path[..cut];
                relative = relative[3..];
            }
            else
            {
                break;
            }
        }

        var separator = path.Length == 0 && prefix.EndsWith(':') ? string.Empty : "/";
        return prefix + path + separator + relative;
    }
}
