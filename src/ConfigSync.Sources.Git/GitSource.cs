using System.Globalization;
using ConfigSync.Diagnostics;
using LibGit2Sharp;
using Microsoft.Extensions.Logging;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace ConfigSync.Sources.Git;

/// <summary>
/// Publishes a commit's tree. Each poll is one fetch over one connection, as <c>git fetch</c>: the
/// server lists its refs, and an unchanged ref transfers nothing more. A changed one is fetched into
/// a bare object cache in the sync's private state folder (<c>stateDir</c>, off the shared volume), and its tree (or the configured subtree) is
/// written straight from the object database, no worktree. Entries are versioned by blob id, so
/// unchanged files are reused from the live tree.
/// </summary>
internal sealed partial class GitSource : IConfigSource
{
    private const string TargetRef = "refs/configsync/target";
    private const string WantedRefs = "refs/configsync/wanted/";
    internal const int CompactAfterPacks = 50;
    private readonly GitSourceOptions _options;
    private readonly SourceContext _context;
    private readonly ILogger _logger;
    private readonly GitTransport _transport;
    private readonly string _repoPath;
    private readonly SubmoduleCache _submodules;
    private readonly SignatureVerifier? _verifier;
    private readonly GitHubAppTokens? _appTokens;
    private Repository? _repository;
    private Task? _busy;
    private bool _warnedDepth;
    private string? _signedBy;
    private string? _appToken;

    public GitSource(GitSourceOptions options, SourceContext context)
    {
        _options = options;
        _context = context;
        _logger = context.LoggerFactory.CreateLogger("ConfigSync.Sources.Git");
        _transport = GitUrl.Classify(options.Url) ?? GitTransport.Http;
        _repoPath = Path.Combine(context.CacheDirectory, "repo.git");
        _submodules = new SubmoduleCache(context.CacheDirectory, options, Prepare, () => _appToken);
        _verifier = options.Verify is null ? null : new SignatureVerifier(options.Verify, context.CacheDirectory);
        _appTokens = options.Auth.GitHubApp is { } app ? new GitHubAppTokens(app, context.Meter, context.TimeProvider) : null;
    }

    public string Describe => $"git:{Redact.Url(_options.Url)}{(_options.Ref is null ? string.Empty : "@" + _options.Ref)}{(_options.Path is null ? string.Empty : "//" + _options.Path)}";

    public async Task<SourceSnapshot?> PollAsync(PollContext context, CancellationToken cancellationToken)
    {
        if (_busy is { IsCompleted: false })
        {
            throw new SourceException($"the previous git operation against {Redact.Url(_options.Url)} has not returned yet (the server stopped answering); waiting for it");
        }

        if (_appTokens is not null)
        {
            // Minted (or reused) before the git operation: libgit2 asks for credentials synchronously.
            _appToken = await _appTokens.TokenAsync(cancellationToken);
        }

        var work = Task.Run(() => Poll(context, cancellationToken), CancellationToken.None);
        _busy = work;
        try
        {
            return await work.WaitAsync(cancellationToken);
        }
        catch (SourceException e) when (_appTokens is not null && e.Message.StartsWith("authentication failed", StringComparison.Ordinal))
        {
            _appTokens.Invalidate();
            throw;
        }
    }

    public bool MatchesPush(string pushedRef, string? defaultBranch) => _options.Ref switch
    {
        // A pinned commit never changes; with no ref the remote's HEAD is tracked, known only when the sender names its default branch.
        _ when _options.IsPinnedCommit => false,
        null => defaultBranch is null || pushedRef == "refs/heads/" + defaultBranch,
        { } tracked => pushedRef == tracked || pushedRef == "refs/heads/" + tracked || pushedRef == "refs/tags/" + tracked,
    };

    public ValueTask DisposeAsync()
    {
        _appTokens?.Dispose();
        if (_busy is null || _busy.IsCompleted)
        {
            _repository?.Dispose();
            _submodules.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    private SourceSnapshot? Poll(PollContext context, CancellationToken cancellationToken)
    {
        LibGit2Settings.ApplyTimeouts(_options.ConnectTimeout, _options.ReadTimeout);
        LibGit2Settings.ApplyReadSettings();
        if (_transport == GitTransport.Local && _options.SafeDirectories.Count > 0)
        {
            // At the first poll, not at construction: the private state folder exists (0700) by then.
            LibGit2Settings.TrustRepositories(_options.SafeDirectories, _context.CacheDirectory);
        }

        CompactIfNeeded();
        var repo = _repository ??= Open(_repoPath, _options.Url);
        try
        {
            var commit = _options.IsPinnedCommit ? Pinned(repo, cancellationToken) : Tracked(repo, context, cancellationToken);

            if (commit is null)
            {
                return null;
            }

            // A shallow re-clone replaces the cache: build the snapshot from the repository that holds the commit.
            var snapshot = Snapshot(_repository!, commit);

            // The tree walk left pack windows mapped and trees cached in this handle, which an idle daemon
            // should not keep (the whole pack, 2 MiB for 2,000 small files; docs/benchmarks.md). The blob
            // readers have handles of their own; the next poll opens the cache again.
            _repository!.Dispose();
            _repository = null;
            return snapshot;
        }
        catch (LibGit2SharpException e) when (e.InnerException is SourceException inner)
        {
            throw inner;
        }
        catch (LibGit2SharpException e)
        {
            throw new SourceException(Explain(e), e);
        }
    }

    private GitSnapshot Snapshot(Repository repo, Commit commit)
    {
        var entries = new List<SourceEntry>();
        var owners = new Dictionary<string, Repository>(StringComparer.Ordinal);
        var tree = commit.Tree;
        var prefix = string.Empty;
        if (_options.Path is { } path)
        {
            tree = commit[path]?.Target as Tree
                ?? throw new SourceException($"path '{path}' is not a folder in commit {commit.Sha[..12]} of {Redact.Url(_options.Url)}");
            prefix = path + "/";
        }

        new TreeWalker(repo, _options.Submodules ? _submodules : null, commit, _context.MaxEntries).Walk(tree, prefix, string.Empty, entries, owners);
        var author = commit.Author;
        var gitFolders = owners.ToDictionary(o => o.Key, o => o.Value.Info.Path, StringComparer.Ordinal);
        var details = new Dictionary<string, string>
        {
            ["commit"] = commit.Sha,
            ["subject"] = commit.MessageShort,
            ["author"] = author.Name,
            ["authorTime"] = author.When.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        };
        if (_signedBy is not null)
        {
            details["signature"] = _signedBy;
        }

        return new GitSnapshot(commit.Sha, entries, gitFolders)
        {
            IsFinal = _options.IsPinnedCommit,
            Details = details,
        };
    }

    private Repository Prepare(string path, string url) => Open(path, url);

    private Repository Open(string path, string url)
    {
        if (!Repository.IsValid(path))
        {
            Repository.Init(path, isBare: true);
        }

        if (GitUrl.Classify(url) == GitTransport.Ssh)
        {
            // Before the repository is opened, and not through repo.Config (see BlobReader.SetLocalConfig).
            BlobReader.SetLocalConfig(path, "core.sshCommand", SshCommand.Write(_context.CacheDirectory, _options.Auth, _options.ConnectTimeout));
        }

        var repo = new Repository(path);
        var remote = repo.Network.Remotes["origin"];
        if (remote is null)
        {
            repo.Network.Remotes.Add("origin", url);
        }
        else if (remote.Url != url)
        {
            repo.Network.Remotes.Update("origin", r => r.Url = url);
        }

        return repo;
    }

    private void CompactIfNeeded()
    {
        // libgit2 has no gc: every fetch adds a pack. Past a bound, start from a fresh cache; the next
        // change fetches what it needs. Done before a poll, never while a snapshot still reads blobs.
        var packs = Path.Combine(_repoPath, "objects", "pack");
        var count = Directory.Exists(packs) ? Directory.EnumerateFiles(packs, "*.pack").Count() : 0;
        if (count <= CompactAfterPacks)
        {
            return;
        }

        LogCompacting(_logger, _context.SyncName, count);
        _repository?.Dispose();
        _repository = null;
        Directory.Delete(_repoPath, recursive: true);
    }

    private string Explain(LibGit2SharpException e)
    {
        var url = Redact.Url(_options.Url);
        var message = Redact.Url(e.Message);
        if (_transport == GitTransport.Ssh && SshCommand.LastError(_context.CacheDirectory) is { } ssh)
        {
            message += $" (ssh: {Redact.Url(ssh)})";
            if (ssh.Contains("Permission denied", StringComparison.Ordinal))
            {
                return $"the ssh server {url} refused the key in auth.sshKeyFile: {message}";
            }
        }

        if (ThrottledStatus().IsMatch(message))
        {
            // libgit2 does not hand over the answer's headers: no Retry-After, the loop backs off.
            _context.Meter.Throttled(null);
            return $"the git server {url} is throttling requests: {message}; the next attempt backs off";
        }

        if (message.Contains("not owned by current user", StringComparison.Ordinal))
        {
            return $"git {url}: {message}; libgit2 refuses a repository another user owns, as git does (a container's user on a mounted volume); if it is trusted, list its path in source.safeDirectories (git's safe.directory)";
        }

        if (message.Contains("401", StringComparison.Ordinal) || message.Contains("authentication", StringComparison.OrdinalIgnoreCase))
        {
            return $"authentication failed for {url}: {message}";
        }

        if (message.Contains("Host key verification failed", StringComparison.OrdinalIgnoreCase) || message.Contains("REMOTE HOST IDENTIFICATION", StringComparison.OrdinalIgnoreCase))
        {
            return $"the ssh host key of {url} is not in auth.knownHostsFile (or does not match it): {message}";
        }

        return $"git {url}: {message}";
    }

    /// <summary>libgit2's message for an HTTP answer 429 or 503 ("unexpected http status code: 429").</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"status code: (429|503)\b", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex ThrottledStatus();

    [LoggerMessage(Level = LogLevel.Information, Message = "{Sync}: the git object cache has {Packs} packs; starting a fresh cache")]
    private static partial void LogCompacting(ILogger logger, string sync, int packs);
}
