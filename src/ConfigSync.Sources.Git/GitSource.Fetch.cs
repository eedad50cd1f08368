using ConfigSync.Diagnostics;
using LibGit2Sharp;
using Microsoft.Extensions.Logging;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace ConfigSync.Sources.Git;

/// <summary>Fetching: which commit the configured ref names at the server, and getting it into the object cache.</summary>
internal sealed partial class GitSource
{
    private Commit? Tracked(Repository repo, PollContext context, CancellationToken cancellationToken)
    {
        if (_options.Depth > 0 && _transport == GitTransport.Http)
        {
            return TrackedShallow(repo, context, cancellationToken);
        }

        if (repo.Info.IsShallow)
        {
            // Left shallow by an earlier depth setting; fetching into it can fail over http, so start from a fresh cache.
            repo = Reset();
        }

        // One connection per poll, as git fetch: every name the ref can stand for is fetched to a
        // local ref of its own, and one whose commit is already here transfers nothing.
        var candidates = Candidates();
        foreach (var stale in repo.Refs.FromGlob(WantedRefs + "*").ToList())
        {
            repo.Refs.Remove(stale);
        }

        Fetch(repo, [.. candidates.Select((name, i) => $"+{name}:{WantedRefs}{i}")], cancellationToken);
        var (name, sha, direct) = Resolve(candidates, candidate =>
        {
            var local = repo.Refs[WantedRefs + candidates.IndexOf(candidate)];
            return local is null ? null : (local.TargetIdentifier, repo.Lookup(local.TargetIdentifier)?.Peel<Commit>()?.Sha ?? local.TargetIdentifier);
        });
        return sha == context.LastRevision ? null : Target(repo, name, sha, direct);
    }

    /// <summary>
    /// With depth over http the ref is listed first (one connection), and only a changed one is
    /// cloned shallow (a second); libgit2 cannot deepen or fetch into a shallow cache.
    /// </summary>
    private Commit? TrackedShallow(Repository repo, PollContext context, CancellationToken cancellationToken)
    {
        var remote = repo.Network.Remotes["origin"];
        var credentials = new GitCredentials(_options.Auth, _options.Url, _appToken).Handler();
        _context.Meter.Request(SourceMeter.Fetch);
        var advertised = (credentials is null ? repo.Network.ListReferences(remote) : repo.Network.ListReferences(remote, credentials)).ToList();
        var (name, sha, direct) = Resolve(Candidates(), candidate => Advertised(advertised, candidate));
        if (sha == context.LastRevision)
        {
            return null;
        }

        // A signed tag is verified from the tag object itself, which may be new for a commit already here.
        if (repo.Lookup<Commit>(sha) is null || (_verifier is not null && direct != sha && repo.Lookup(direct) is null))
        {
            if (ShallowClone(name, sha, cancellationToken) is { } shallow)
            {
                repo = shallow;
            }
            else
            {
                if (repo.Info.IsShallow)
                {
                    repo = Reset();
                }

                Fetch(repo, [$"+{name}:{TargetRef}"], cancellationToken);
            }
        }

        return Target(repo, name, sha, direct);
    }

    /// <summary>The tracked commit, its signature checked, recorded under <see cref="TargetRef"/>.</summary>
    private Commit Target(Repository repo, string name, string sha, string direct)
    {
        var commit = repo.Lookup(sha)?.Peel<Commit>()
            ?? throw new SourceException($"fetched {name} from {Redact.Url(_options.Url)} but commit {sha} is not in it");
        _signedBy = _verifier?.Verify(repo, commit, name, direct != sha ? direct : null);
        repo.Refs.Add(TargetRef, commit.Id, allowOverwrite: true);
        return commit;
    }

    private Commit? Pinned(Repository repo, CancellationToken cancellationToken)
    {
        if (repo.Lookup(_options.Ref!)?.Peel<Commit>() is { } local)
        {
            _signedBy = _verifier?.Verify(repo, local, local.Sha, null);
            return local;
        }

        Fetch(repo, ["+refs/heads/*:refs/configsync/heads/*"], cancellationToken, tags: true);
        var sha = repo.Lookup(_options.Ref!)?.Peel<Commit>()?.Sha
            ?? throw new SourceException($"commit {_options.Ref} is not on any branch or tag of {Redact.Url(_options.Url)}");
        return Target(repo, sha, sha, sha);
    }

    /// <summary>The names <c>source.ref</c> can stand for, in the order they win: as written when it starts with refs/, then the branch, then the tag; HEAD when unset.</summary>
    private List<string> Candidates() => _options.Ref is not { } tracked
        ? ["HEAD"]
        : [.. new[] { tracked, $"refs/heads/{tracked}", $"refs/tags/{tracked}" }.Where(c => c.StartsWith("refs/", StringComparison.Ordinal)).Distinct(StringComparer.Ordinal)];

    /// <summary>The first candidate the server has: its name, its commit and the object it names (a tag object for an annotated tag).</summary>
    private (string Name, string Sha, string Direct) Resolve(List<string> candidates, Func<string, (string Direct, string Commit)?> lookup)
    {
        foreach (var candidate in candidates)
        {
            if (lookup(candidate) is { } found)
            {
                return (candidate, found.Commit, found.Direct);
            }
        }

        throw new SourceException(_options.Ref is null
            ? $"{Redact.Url(_options.Url)} has no HEAD (an empty repository?); set source.ref"
            : $"ref '{_options.Ref}' was not found at {Redact.Url(_options.Url)} (deleted or misspelt); the live tree stays");
    }

    /// <summary>A name in the server's ref listing: the peeled commit of a tag (<c>^{}</c>), and a symbolic HEAD followed.</summary>
    private static (string Direct, string Commit)? Advertised(List<Reference> advertised, string canonical)
    {
        var reference = advertised.FirstOrDefault(r => r.CanonicalName == canonical);
        if (reference is SymbolicReference symbolic)
        {
            reference = advertised.FirstOrDefault(r => r.CanonicalName == symbolic.TargetIdentifier);
        }

        if (reference is null)
        {
            return null;
        }

        var peeled = advertised.FirstOrDefault(r => r.CanonicalName == canonical + "^{}")?.TargetIdentifier;
        return (reference.TargetIdentifier, peeled ?? reference.TargetIdentifier);
    }

    private void Fetch(Repository repo, string[] refspecs, CancellationToken cancellationToken, bool tags = false)
    {
        if (_options.Depth > 0 && _transport != GitTransport.Http && !_warnedDepth)
        {
            _warnedDepth = true;
            LogDepthUnsupported(_logger, _context.SyncName, _transport.ToString().ToLowerInvariant());
        }

        _context.Meter.Request(SourceMeter.Fetch);
        Commands.Fetch(repo, "origin", refspecs, FetchOptions(cancellationToken, tags), null);
        cancellationToken.ThrowIfCancellationRequested();
    }

    private FetchOptions FetchOptions(CancellationToken cancellationToken, bool tags = false) => new()
    {
        CredentialsProvider = new GitCredentials(_options.Auth, _options.Url, _appToken).Handler(),
        TagFetchMode = tags ? TagFetchMode.All : TagFetchMode.None,
        Prune = false,
        OnTransferProgress = _ => !cancellationToken.IsCancellationRequested,
        OnProgress = _ => !cancellationToken.IsCancellationRequested,
    };

    /// <summary>
    /// libgit2 honours depth only when cloning, so a shallow sync clones the changed ref afresh
    /// (depth commits of history) into a new cache. Returns null, with one warning, when the
    /// shallow clone does not hold the commit or fails; the caller then fetches the full history.
    /// </summary>
    private Repository? ShallowClone(string name, string sha, CancellationToken cancellationToken)
    {
        var fresh = _repoPath + ".shallow";
        try
        {
            if (Directory.Exists(fresh))
            {
                Directory.Delete(fresh, recursive: true);
            }

            var options = new CloneOptions(FetchOptions(cancellationToken)) { IsBare = true, Checkout = false };
            options.FetchOptions.Depth = _options.Depth;
            if (name.StartsWith("refs/heads/", StringComparison.Ordinal))
            {
                options.BranchName = name["refs/heads/".Length..];
            }

            _context.Meter.Request(SourceMeter.Fetch);
            Repository.Clone(_options.Url, fresh, options);
            using (var cloned = new Repository(fresh))
            {
                if (cloned.Lookup(sha)?.Peel<Commit>() is null)
                {
                    throw new SourceException($"commit {sha} is deeper than depth {_options.Depth}");
                }
            }

            _repository?.Dispose();
            Directory.Delete(_repoPath, recursive: true);
            Directory.Move(fresh, _repoPath);
            return _repository = Open(_repoPath, _options.Url);
        }
        catch (Exception e) when (e is LibGit2SharpException or SourceException && !cancellationToken.IsCancellationRequested)
        {
            if (!_warnedDepth)
            {
                _warnedDepth = true;
                LogShallowFailed(_logger, _context.SyncName, Redact.Url(e.Message));
            }

            if (Directory.Exists(fresh))
            {
                Directory.Delete(fresh, recursive: true);
            }

            return null;
        }
    }

    private Repository Reset()
    {
        _repository?.Dispose();
        Directory.Delete(_repoPath, recursive: true);
        return _repository = Open(_repoPath, _options.Url);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Sync}: depth is not supported over {Transport} by libgit2; fetching the full history")]
    private static partial void LogDepthUnsupported(ILogger logger, string sync, string transport);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Sync}: the shallow clone failed ({Reason}); fetching the full history instead")]
    private static partial void LogShallowFailed(ILogger logger, string sync, string reason);
}
