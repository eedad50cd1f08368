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
    private readonly string? _stateFolder;

    public TreePublisher(SyncSettings settings, string sourceKey, TimeProvider time, ILogger logger, string? stateFolder = null)
    {
        _settings = settings;
        _stateFolder = stateFolder;
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

    /// <summary>The manifest file of the live tree.</summary>
    public string? LiveManifestPath => Live is null ? null : _paths.ManifestOf(Live.Tree);

    /// <summary>
    /// Prepares the volume: creates ConfigSync's folders (refusing any that is a link or a file),
    /// empties staging, forgets manifests whose tree is gone, and keeps the live tree if its manifest
    /// verifies. Trees without a manifest are not ConfigSync's (every tree it moves into place has its
    /// manifest first) and are left alone. Returns the verified live manifest, or null.
    /// </summary>
    /// <exception cref="PublishException">A folder of ConfigSync's is a link, a file or unusable (named).</exception>
    public Manifest? Recover()
    {
        using var volume = OpenVolume();
        if (volume.State.TypeOf("cache") == Libc.TypeFolder)
        {
            // Before stateDir, sources kept their caches and credentials (an ssh key) here, where the app can read them.
            LogOldCacheRemoved(_logger, _settings.Name, volume.State.Combine("cache"));
            volume.State.Delete("cache");
        }

        foreach (var (leftover, _) in volume.Staging.Entries())
        {
            LogLeftoverRemoved(_logger, _settings.Name, volume.Staging.Combine(leftover));
            volume.Staging.Delete(leftover);
        }

        var liveId = _layout.LiveTreeId();
        var now = _time.GetUtcNow();
        var trees = _layout.TreeIds().ToHashSet(StringComparer.Ordinal);
        foreach (var id in trees.Where(id => id != liveId))
        {
            if (volume.Manifests.TypeOf(id + ".json") == Libc.TypeFile)
            {
                _retiredAt[id] = now;
            }
            else
            {
                LogUnknownTreeLeft(_logger, _settings.Name, _layout.TreePath(id));
            }
        }

        foreach (var (name, _) in volume.Manifests.Entries())
        {
            var isManifest = name.EndsWith(".json", StringComparison.Ordinal);
            if ((isManifest && !trees.Contains(name[..^5])) || name.EndsWith(".json.tmp", StringComparison.Ordinal))
            {
                volume.Manifests.Delete(name);
            }
        }

        if (liveId is null)
        {
            return null;
        }

        var live = Manifest.TryParse(volume.Manifests.ReadFile(liveId + ".json", Manifest.MaxBytes));
        var problem = live is null ? "its manifest is missing or unreadable" : live.Problem(liveId) ?? VerifyLive(volume, liveId, live);
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
        var plan = PathRules.Validate(entries, _settings.MaxFiles, _settings.MaxBytes, ReservedName);
        if (IsLive(plan))
        {
            return null;
        }

        _layout.CheckTarget();
        using var volume = OpenVolume();
        var now = _time.GetUtcNow();
        var treeId = _layout.NewTreeId(snapshot.Revision, now);
        var stagingName = treeId.TrimStart('.');
        var moved = false;
        try
        {
            volume.Staging.Delete(stagingName);
            var reuse = Live is not null && Live.Source == _sourceKey ? Live : null;
            Manifest manifest;
            byte[] json;
            using (var staged = volume.Staging.Open(stagingName, create: true))
            using (var reuseTree = reuse is null ? null : TryOpenTree(volume, reuse.Tree))
            {
                IReadOnlyList<ManifestFile> files;
                try
                {
                    _writer.Decryption = _settings.Decrypt is { } decrypt
                        ? await Decryption.FileDecryption.CreateAsync(decrypt, staged.Handle, _settings.Target.Root, _stateFolder, snapshot.Revision, _settings.MaxBytes, cancellationToken)
                        : null;
                    files = await _writer.WriteAsync(snapshot, plan, staged, reuse, reuseTree, Progress, cancellationToken);
                }
                finally
                {
                    Progress.Stop();
                }

                await snapshot.ConfirmAsync(cancellationToken);
                if (!_validator.IsEmpty)
                {
                    // Checks see the staged tree exactly as readers would, through the folder ConfigSync holds open
                    // (whatever happens to the path meanwhile); a rejection abandons it before anything moves.
                    await _validator.ValidateAsync(staged.PinnedPath, snapshot.Revision, [.. files.Where(f => f.Link is null).Select(f => f.Path)], cancellationToken, commandTree: staged.Path);
                }

                manifest = new Manifest(_settings.Name, snapshot.Revision, _sourceKey, treeId, now, snapshot.Details, files);
                json = manifest.ToJson();
                if (_settings.Target.ManifestInTree)
                {
                    staged.WriteAtomically(InTreeManifest, json, _settings.Target.EffectiveFileMode(false));
                }

                SealFolders(staged, _settings.Target.EffectiveDirMode);
                Libc.SyncFileSystem(staged.Handle, staged.Path);
            }

            volume.Manifests.WriteAtomically(treeId + ".json", json, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

            // The last point where a cancellation abandons the publish; past it the swap always completes.
            cancellationToken.ThrowIfCancellationRequested();
            if (_layout is CopyLayout copy)
            {
                using (var staged = volume.Staging.Open(stagingName))
                {
                    copy.Apply(volume.Root, volume.State, staged, manifest, Live);
                }

                volume.Staging.Delete(stagingName);
                if (Live is { } replaced && replaced.Tree != treeId)
                {
                    volume.Manifests.Delete(replaced.Tree + ".json");
                }

                Live = manifest;
                Previous = null;
                return manifest;
            }

            using (var trees = volume.Root.OpenPath(_layout.TreesFolder))
            {
                volume.Staging.MoveTo(stagingName, trees, treeId);
                moved = true;
                trees.Fsync();
            }

            var previous = Live;
            _layout.Swap(volume.Root, volume.Staging, treeId, manifest, previous);
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
            Abandon(volume, stagingName, treeId, moved);
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

        using (var volume = OpenVolume())
        {
            _layout.Swap(volume.Root, volume.Staging, previous.Tree, previous, failed);
        }

        Live = previous;
        Previous = null;
        _retiredAt[failed.Tree] = _time.GetUtcNow();
        _retiredAt.Remove(previous.Tree);
        return previous;
    }

    /// <summary>Removes old trees past their grace period beyond the newest <c>keep</c> (never the one a rollback would restore).</summary>
    public void RemoveOldTrees()
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
        var doomed = expired.ToList();
        if (doomed.Count == 0)
        {
            return;
        }

        try
        {
            using var volume = OpenVolume();
            using var trees = volume.Root.OpenPath(_layout.TreesFolder);
            foreach (var id in doomed)
            {
                try
                {
                    // Only trees ConfigSync recorded a manifest for; the tree goes first, so a crash
                    // in between leaves a manifest that names what is left, to be collected next time.
                    if (volume.Manifests.TypeOf(id + ".json") == Libc.TypeFile)
                    {
                        trees.Delete(id);
                        volume.Manifests.Delete(id + ".json");
                        LogTreeRemoved(_logger, _settings.Name, id);
                    }

                    _retiredAt.Remove(id);
                }
                catch (IOException e)
                {
                    LogTreeRemoveFailed(_logger, _settings.Name, id, e.Message);
                }
            }
        }
        catch (Exception e) when (e is IOException or PublishException)
        {
            LogTreeRemoveFailed(_logger, _settings.Name, string.Join(", ", doomed), e.Message);
        }
    }

    private string? ReservedName(string topLevelName) =>
        _settings.Target.ManifestInTree && topLevelName == InTreeManifest ? "target.manifestInTree writes there" : _layout.ReservedName(topLevelName);

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

    private void Abandon(Volume volume, string stagingName, string treeId, bool moved)
    {
        try
        {
            volume.Staging.Delete(stagingName);
            if (moved && _layout.LiveTreeId() != treeId)
            {
                using var trees = volume.Root.OpenPath(_layout.TreesFolder);
                trees.Delete(treeId);
                volume.Manifests.Delete(treeId + ".json");
            }
            else if (!moved)
            {
                volume.Manifests.Delete(treeId + ".json");
            }
        }
        catch (Exception e) when (e is IOException or PublishException)
        {
            LogAbandonFailed(_logger, _settings.Name, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Sync}: removed leftover {Path} from an interrupted run")]
    private static partial void LogLeftoverRemoved(ILogger logger, string sync, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Sync}: the live tree at {Path} does not verify ({Problem}); it stays in place until a sync replaces it, and the sync is not ready until then")]
    private static partial void LogLiveTreeUnverified(ILogger logger, string sync, string path, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Sync}: {Path} looks like a tree but has no manifest, so ConfigSync did not make it; it is left alone")]
    private static partial void LogUnknownTreeLeft(ILogger logger, string sync, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Sync}: removed {Path}, where an earlier version kept source caches and credentials on the shared volume (they live in stateDir now)")]
    private static partial void LogOldCacheRemoved(ILogger logger, string sync, string path);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Sync}: removed old tree {Tree}")]
    private static partial void LogTreeRemoved(ILogger logger, string sync, string tree);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Sync}: could not remove old tree {Tree}: {Reason}")]
    private static partial void LogTreeRemoveFailed(ILogger logger, string sync, string tree, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Sync}: could not clean up an abandoned tree: {Reason}")]
    private static partial void LogAbandonFailed(ILogger logger, string sync, string reason);
}
