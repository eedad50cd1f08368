using System.Security.Cryptography;
using System.Text;
using ConfigSync.Diagnostics;
using LibGit2Sharp;

namespace ConfigSync.Sources.Git;

/// <summary>
/// Bare object caches of submodule repositories, one per URL, under the sync's cache folder. A submodule is fetched
/// with the source's credentials (its password, or the GitHub App's installation token of <paramref name="appToken"/>)
/// only on the source's own origin; anywhere else, without any (see <see cref="GitCredentials"/>).
/// </summary>
internal sealed class SubmoduleCache(string cacheDirectory, GitSourceOptions options, Func<string, string, Repository> open, Func<string?> appToken) : IDisposable
{
    private readonly Dictionary<string, Repository> _repositories = new(StringComparer.Ordinal);

    public (Repository Repository, Commit Commit) Resolve(string url, string sha, string modulePath)
    {
        if (!options.SubmodulesAllowLocal && IsLocal(url))
        {
            // As git does since 2.38.1 (CVE-2022-39253: protocol.file.allow=user): a commit must not make the
            // daemon read another repository of the machine it runs on.
            throw new SourceException($"submodule '{modulePath}': url '{Redact.Url(url)}' is a local path or file:// URL, refused as git refuses it (CVE-2022-39253); set source.submodules.allowLocal: true if the repositories are yours");
        }

        if (!_repositories.TryGetValue(url, out var repo))
        {
            var name = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(url)))[..16];
            repo = open(Path.Combine(cacheDirectory, "modules", name + ".git"), url);
            _repositories[url] = repo;
        }

        if (repo.Lookup<Commit>(sha) is { } cached)
        {
            return (repo, cached);
        }

        // The source's credentials only for a URL of the source's own origin, decided on the text the repository gave.
        var credentials = GitCredentials.MayReceive(url, options.Url) ? new GitCredentials(options.Auth, options.Url, appToken()).Handler() : null;
        var fetch = new FetchOptions { CredentialsProvider = credentials, TagFetchMode = TagFetchMode.All };
        Commands.Fetch(repo, "origin", ["+refs/heads/*:refs/configsync/heads/*"], fetch, null);
        var commit = repo.Lookup<Commit>(sha)
            ?? throw new SourceException($"submodule '{modulePath}': commit {sha[..12]} is not on any branch or tag of {Redact.Url(url)}");
        return (repo, commit);
    }

    public void Dispose()
    {
        foreach (var repo in _repositories.Values)
        {
            repo.Dispose();
        }
    }

    /// <summary>Whether a submodule URL reads from the local machine: file://, an absolute or relative path, not host:path.</summary>
    internal static bool IsLocal(string url) =>
        url.StartsWith("file:", StringComparison.OrdinalIgnoreCase)
        || url.StartsWith('/') || url.StartsWith('.') || url.StartsWith('~')
        || (!url.Contains("://", StringComparison.Ordinal) && !url.Contains(':', StringComparison.Ordinal));
}
