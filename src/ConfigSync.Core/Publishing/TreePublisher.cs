using System.Security.Cryptography;
using ConfigSync.Configuration;
using ConfigSync.Sources;
using ConfigSync.Validation;
using Microsoft.Extensions.Logging;

namespace ConfigSync.Publishing;

/// <summary>
/// Publishes trees for one sync atomically: writes into a staging folder on the same file system,
/// makes it durable (one syncfs), writes the manifest, moves the tree into place, then renames a new
/// relative symlink over the live one. A reader sees the old tree or the new one, never a mix.
/// On start it removes crash leftovers and keeps a live tree whose manifest verifies.
/// </summary>
internal sealed partial class TreePublisher
{
    private const string InTreeManifest = ".configsync-manifest.json";
    private readonly SyncSettings _settings;
    private readonly string _sourceKey;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly VolumePaths _paths;
    private readonly IPublishLayout _layout;
    private readonly Dictionary<string, DateTimeOffset> _retiredAt = new(StringComparer.Ordinal);
    private readonly TreeWriter _writer;
    private readonly TreeValidator _validator;

    public TreePublisher(SyncSettings settings, string sourceKey, TimeProvider time, ILogger logger)
    {
        _settings = settings;
        _sourceKey = sourceKey;
        _time = time;
        _logger = logger;
        _paths = new VolumePaths(settings.Target.Root, settings.Name);
        _layout = settings.Target.Layout switch
        {
            TreeLayout.Kubelet => new KubeletLayout(_paths),
            TreeLayout.Copy => new CopyLayout(_paths, settings.Target.Link, settings.Target.EffectiveDirMode),
            _ => new LinkLayout(_paths, settings.Target.Link),
        };
        _writer = new TreeWriter(settings.Target, settings.MaxBytes);
        _validator = new TreeValidator(settings.Name, settings.Validate);
    }

    /// <summary>The manifest of the live tree, or null before the first publish.</summary>
    public Manifest? Live { get; private set; }

    /// <summary>Progress of the tree being written, if any.</summary>
    public TransferProgress Progress { get; } = new();

    /// <summary>The tree that was live before <see cref="Live"/> in this run, kept for a rollback; null when there is none.</summary>
    public Manifest? Previous { get; private set; }

    /// <summary>The path readers use.</summary>
    public string LivePath => _layout.LivePath;

    /// <summary>The folder a source may keep its state in.</summary>
    public string CacheDirectory => _paths.Cache;

    /// <summary>The manifest file of the live tree.</summary>
    public string? LiveManifestPath => Live is null ? null : _paths.ManifestOf(Live.Tree);

    /// <summary>
    /// Prepares the volume: creates the folders, removes staging leftovers and temporary links,
    /// drops incomplete trees, and keeps the live tree if its manifest verifies.
    /// Returns the verified live manifest, or null.
    /// </summary>
    public Manifest? Recover()
    {
        Directory.CreateDirectory(_paths.Root);
        Directory.CreateDirectory(_paths.Trees);
        Directory.CreateDirectory(_paths.Manifests);
        if (Directory.Exists(_paths.Staging))
        {
            foreach (var leftover in Directory.EnumerateFileSystemEntries(_paths.Staging))
            {
                LogLeftoverRemoved(_logger, _settings.Name, leftover);
                FileSystem.DeleteTree(leftover);
                FileSystem.DeleteFile(leftover);
            }
        }

        Directory.CreateDirectory(_paths.Staging);
        Directory.CreateDirectory(_paths.Cache);
        _layout.RemoveLeftovers();

        var liveId = _layout.LiveTreeId();
        var now = _time.GetUtcNow();
        foreach (var id in _layout.TreeIds().Where(id => id != liveId).ToList())
        {
            var treePath = _layout.TreePath(id);
            if (!File.Exists(_paths.ManifestOf(id)))
            {
                LogLeftoverRemoved(_logger, _settings.Name, treePath);
                FileSystem.DeleteTree(treePath);
            }
            else
            {
                _retiredAt[id] = now;
            }
        }

        var trees = _layout.TreeIds().ToHashSet(StringComparer.Ordinal);
        foreach (var manifest in Directory.EnumerateFiles(_paths.Manifests))
        {
            var id = Path.GetFileName(manifest);
            if (!id.EndsWith(".json", StringComparison.Ordinal) || !trees.Contains(id[..^5]))
            {
                File.Delete(manifest);
            }
        }

        if (liveId is null)
        {
            return null;
        }

        var live = Manifest.TryRead(_paths.ManifestOf(liveId));
        var problem = live is null ? "its manifest is missing or unreadable" : Verify(_layout.TreePath(liveId), live);
        if (problem is not null)
        {
            LogLiveTreeUnverified(_logger, _settings.Name, _layout.LivePath, problem);
            return null;
        }

        Live = live;
        return live;
    }

    /// <summary>
    /// Publishes <paramref name="snapshot"/> restricted to <paramref name="entries"/>. Returns null
    /// when the entries are what is live already (nothing written). Throws, leaving the live tree
    /// as it was, when an entry or limit is refused or the write fails.
    /// </summary>
    public async Task<Manifest?> PublishAsync(SourceSnapshot snapshot, IReadOnlyList<SourceEntry> entries, CancellationToken cancellationToken)
    {
        var reserved = _settings.Target.ManifestInTree ? new HashSet<string>(_layout.ReservedNames, StringComparer.Ordinal) { InTreeManifest } : _layout.ReservedNames;
        var plan = PathRules.Validate(entries, _settings.MaxFiles, _settings.MaxBytes, reserved);
        if (IsLive(plan))
        {
            return null;
        }

        _layout.CheckTarget();
        var now = _time.GetUtcNow();
        var treeId = _layout.NewTreeId(snapshot.Revision, now);
        var staging = Path.Combine(_paths.Staging, treeId.TrimStart('.'));
        var manifestPath = _paths.ManifestOf(treeId);
        var treePath = _layout.TreePath(treeId);
        var moved = false;
        try
        {
            var reuse = Live is not null && Live.Source == _sourceKey ? Live : null;
            IReadOnlyList<ManifestFile> files;
            try
            {
                files = await _writer.WriteAsync(snapshot, plan, staging, reuse, reuse is null ? null : _layout.TreePath(reuse.Tree), Progress, cancellationToken);
            }
            finally
            {
                Progress.Stop();
            }

            if (!_validator.IsEmpty)
            {
                // Checks see the staged tree exactly as readers would; a rejection abandons it before anything moves.
                await _validator.ValidateAsync(staging, snapshot.Revision, [.. files.Where(f => f.Link is null).Select(f => f.Path)], cancellationToken);
            }

            var manifest = new Manifest(_settings.Name, snapshot.Revision, _sourceKey, treeId, now, snapshot.Details, files);
            var json = manifest.ToJson();
            if (_settings.Target.ManifestInTree)
            {
                FileSystem.WriteAtomically(Path.Combine(staging, InTreeManifest), json, _settings.Target.EffectiveFileMode(false));
            }

            FileSystem.SealTree(staging, _settings.Target.EffectiveDirMode);
            FileSystem.WriteAtomically(manifestPath, json, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

            // The last point where a cancellation abandons the publish; past it the swap always completes.
            cancellationToken.ThrowIfCancellationRequested();
            if (_layout is CopyLayout copy)
            {
                copy.Apply(staging, manifest, Live);
                FileSystem.DeleteTree(staging);
                if (Live is { } replaced && replaced.Tree != treeId)
                {
                    FileSystem.DeleteFile(_paths.ManifestOf(replaced.Tree));
                }

                Live = manifest;
                Previous = null;
                return manifest;
            }

            Libc.Rename(staging, treePath);
            moved = true;
            Libc.FsyncDirectory(Path.GetDirectoryName(treePath)!);
            var previous = Live;
            _layout.Swap(treeId, manifest, previous);
            Live = manifest;
            Previous = previous;
            if (previous is not null)
            {
                _retiredAt[previous.Tree] = _time.GetUtcNow();
            }

            return manifest;
        }
        catch
        {
            Abandon(staging, moved ? treePath : null, manifestPath);
            throw;
        }
    }

    /// <summary>
    /// Makes the previous tree live again (the same atomic swap as a publish) and returns its manifest;
    /// null, changing nothing, when there is no previous tree, its folder or manifest is gone, or the layout is copy.
    /// </summary>
    public Manifest? RollBack()
    {
        if (_layout is CopyLayout || Previous is not { } previous || Live is not { } failed || !File.Exists(_paths.ManifestOf(previous.Tree)) || !Directory.Exists(_layout.TreePath(previous.Tree)))
        {
            return null;
        }

        _layout.Swap(previous.Tree, previous, failed);
        Live = previous;
        Previous = null;
        _retiredAt[failed.Tree] = _time.GetUtcNow();
        _retiredAt.Remove(previous.Tree);
        return previous;
    }

    /// <summary>Removes old trees past their grace period beyond the newest <c>keep</c> (never the one a rollback would restore).</summary>
    public void CollectGarbage()
    {
        var liveId = _layout.LiveTreeId();
        var now = _time.GetUtcNow();
        var old = _layout.TreeIds().Where(id => id != liveId).ToList();

        // With rollback on, the tree a rollback would restore outlives keep and grace until the next publish.
        var needed = _settings.Signal.Verify is { Rollback: true } ? Previous?.Tree : null;
        foreach (var id in old.Where(id => !_retiredAt.ContainsKey(id)))
        {
            _retiredAt[id] = now;
        }

        var expired = old
            .OrderByDescending(id => _retiredAt[id])
            .ThenByDescending(id => id, StringComparer.Ordinal)
            .Skip(_settings.Target.Keep)
            .Where(id => now - _retiredAt[id] >= _settings.Target.Grace && id != needed);
        foreach (var id in expired.ToList())
        {
            try
            {
                FileSystem.DeleteFile(_paths.ManifestOf(id));
                FileSystem.DeleteTree(_layout.TreePath(id));
                _retiredAt.Remove(id);
                LogTreeRemoved(_logger, _settings.Name, id);
            }
            catch (IOException e)
            {
                LogTreeRemoveFailed(_logger, _settings.Name, id, e.Message);
            }
        }
    }

    /// <summary>Checks a tree against its manifest: same entries, sizes, modes, links and SHA-256 of every file.</summary>
    internal static string? Verify(string treePath, Manifest manifest)
    {
        if (!Directory.Exists(treePath))
        {
            return $"its folder '{treePath}' is missing";
        }

        var expected = manifest.Files.ToDictionary(f => f.Path, StringComparer.Ordinal);
        var seen = 0;
        foreach (var path in Directory.EnumerateFileSystemEntries(treePath, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            var relative = Path.GetRelativePath(treePath, path).Replace('\\', '/');
            var info = new FileInfo(path);
            if (relative == InTreeManifest || (Directory.Exists(path) && info.LinkTarget is null))
            {
                continue;
            }

            if (!expected.TryGetValue(relative, out var file))
            {
                return $"'{relative}' is not in the manifest";
            }

            seen++;
            if (file.Link is not null)
            {
                if (info.LinkTarget != file.Link)
                {
                    return $"'{relative}' is not the link the manifest lists";
                }

                continue;
            }

            if (info.LinkTarget is not null || info.Length != file.Size || info.UnixFileMode != file.UnixMode)
            {
                return $"'{relative}' differs from the manifest in size or mode";
            }

            using var stream = File.OpenRead(path);
            if (Convert.ToHexStringLower(SHA256.HashData(stream)) != file.Sha256)
            {
                return $"'{relative}' does not match its SHA-256";
            }
        }

        return seen == expected.Count ? null : $"{expected.Count - seen} files of the manifest are missing";
    }

    private bool IsLive(IReadOnlyList<SourceEntry> plan)
    {
        if (Live is null || Live.Source != _sourceKey || Live.Files.Count != plan.Count)
        {
            return false;
        }

        for (var i = 0; i < plan.Count; i++)
        {
            var entry = plan[i];
            var file = Live.Files[i];
            var mode = entry.IsSymlink ? "0777" : ManifestFile.FormatMode(_settings.Target.EffectiveFileMode(entry.Executable));
            if (file.Path != entry.Path || file.Version != entry.Version || file.Link != entry.LinkTarget || file.Mode != mode)
            {
                return false;
            }
        }

        return true;
    }

    private void Abandon(string staging, string? treePath, string manifestPath)
    {
        try
        {
            FileSystem.DeleteTree(staging);
            if (treePath is not null && _layout.LiveTreeId() != Path.GetFileName(treePath))
            {
                FileSystem.DeleteTree(treePath);
                FileSystem.DeleteFile(manifestPath);
            }
            else if (treePath is null)
            {
                FileSystem.DeleteFile(manifestPath);
            }
        }
        catch (IOException e)
        {
            LogAbandonFailed(_logger, _settings.Name, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Sync}: removed leftover {Path} from an interrupted run")]
    private static partial void LogLeftoverRemoved(ILogger logger, string sync, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Sync}: the live tree at {Path} does not verify ({Problem}); it stays in place until a sync replaces it, and the sync is not ready until then")]
    private static partial void LogLiveTreeUnverified(ILogger logger, string sync, string path, string problem);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Sync}: removed old tree {Tree}")]
    private static partial void LogTreeRemoved(ILogger logger, string sync, string tree);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Sync}: could not remove old tree {Tree}: {Reason}")]
    private static partial void LogTreeRemoveFailed(ILogger logger, string sync, string tree, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Sync}: could not clean up an abandoned tree: {Reason}")]
    private static partial void LogAbandonFailed(ILogger logger, string sync, string reason);
}
