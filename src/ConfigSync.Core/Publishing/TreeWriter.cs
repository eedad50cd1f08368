using System.Collections.Concurrent;
using ConfigSync.Configuration;
using ConfigSync.Decryption;
using ConfigSync.Sources;

namespace ConfigSync.Publishing;

/// <summary>
/// Writes a snapshot's entries into a staged tree: files whose path, version and mode match the
/// live tree are hard-linked from it (copied where links are refused); the rest are streamed from
/// the source, hashed and given their mode (the publisher makes the tree durable in one syncfs).
/// Every folder is made and every file created through open folders (mkdirat, openat with
/// O_EXCL | O_NOFOLLOW, linkat), so a folder of the volume swapped for a link while the tree is
/// written never redirects a write, and a link planted in the live tree is never carried over.
/// </summary>
internal sealed class TreeWriter(TargetSettings target, long maxBytes)
{
    /// <summary>Decrypts the files it selects as they are written; null when the sync decrypts nothing. Set per publish.</summary>
    public FileDecryption? Decryption { get; set; }

    /// <summary>
    /// Files at least this large start going to disk as soon as they are written, while the rest of the tree
    /// downloads: the closing syncfs of 200 files of 1 MiB then waited for much less (S3 and Azure initial
    /// sync 12-18% faster, docs/benchmarks.md). For small files the extra call per file costs more than the
    /// overlap gives (measured with 2,000 files of 1 KiB), so they are left to the syncfs.
    /// </summary>
    internal const long EarlyWritebackBytes = 64 * 1024;

    private const UnixFileMode StagedFolderMode = (UnixFileMode)0x1ED; // 0755; the publisher gives every folder dirMode when it seals the tree

    public async Task<IReadOnlyList<ManifestFile>> WriteAsync(
        SourceSnapshot snapshot,
        IReadOnlyList<SourceEntry> entries,
        VolumeFolder staged,
        Manifest? reusable,
        VolumeFolder? reusableTree,
        TransferProgress progress,
        CancellationToken cancellationToken)
    {
        progress.Start(entries.Count, entries.Sum(e => Math.Max(0, e.Size)));
        using var folders = new FolderCache(staged, replaceNonFolders: true, StagedFolderMode);
        using var liveFolders = reusableTree is null ? null : new FolderCache(reusableTree, replaceNonFolders: false, StagedFolderMode, missingIsNull: true);
        foreach (var folder in entries.Select(e => FolderCache.Split(e.Path).Folder).Where(f => f.Length > 0).Distinct(StringComparer.Ordinal))
        {
            folders.Get(folder);
        }

        var previous = reusable?.Files.ToDictionary(f => f.Path, StringComparer.Ordinal) ?? [];
        var written = new ConcurrentBag<ManifestFile>();
        var budget = new ByteBudget(maxBytes);
        var toFetch = new List<(SourceEntry Entry, UnixFileMode Mode, VolumeFolder Folder, string Name, string? Transform)>();
        foreach (var entry in entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (folderPath, name) = FolderCache.Split(entry.Path);
            var folder = folders.Get(folderPath)!;
            if (entry.LinkTarget is { } linkTarget)
            {
                folder.CreateLink(name, linkTarget);
                written.Add(LinkEntry(entry, linkTarget));
                progress.FileDone();
                continue;
            }

            var mode = target.EffectiveFileMode(entry.Executable);
            var transform = Decryption?.Selects(entry.Path) == true ? FileDecryption.Transform : null;
            if (liveFolders is not null
                && previous.TryGetValue(entry.Path, out var old)
                && old.Link is null
                && old.Version == entry.Version
                && old.Transform == transform
                && old.UnixMode == mode
                && liveFolders.Get(folderPath) is { } live
                && folder.LinkFrom(live, name)
                && IsRegularFile(folder, name))
            {
                budget.Take(old.Size, entry.Path);
                written.Add(old);
                progress.AddBytes(old.Size);
                progress.FileDone();
                continue;
            }

            toFetch.Add((entry, mode, folder, name, transform));
        }

        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, snapshot.MaxParallelism), CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(InterleaveByFolder(toFetch, item => item.Entry.Path), options, async (item, token) =>
        {
            written.Add(item.Transform is null
                ? await FetchAsync(snapshot, item.Entry, item.Mode, item.Folder, item.Name, budget, progress, token)
                : await Decryption!.FetchAsync(snapshot, item.Entry, item.Mode, item.Folder, item.Name, budget, progress, token));
            progress.FileDone();
        });

        return [.. written.OrderBy(f => f.Path, StringComparer.Ordinal)];
    }

    /// <summary>
    /// Orders items round-robin over their folders (the first of each folder, then the second, ...), so
    /// parallel writers mostly create files in different folders: creating a file takes its folder's
    /// lock, and writers queued on one folder spin on it (measured with perf on ext4).
    /// </summary>
    internal static List<T> InterleaveByFolder<T>(IReadOnlyList<T> items, Func<T, string> path)
    {
        // Sort key: the item's place within its folder, then the folder's first appearance (one pass, n log n).
        var folders = new Dictionary<string, (int Index, int Taken)>(StringComparer.Ordinal);
        var keyed = new List<(int Rank, int Folder, T Item)>(items.Count);
        foreach (var item in items)
        {
            var folder = Path.GetDirectoryName(path(item)) ?? string.Empty;
            var (index, taken) = folders.TryGetValue(folder, out var known) ? known : (folders.Count, 0);
            folders[folder] = (index, taken + 1);
            keyed.Add((taken, index, item));
        }

        return [.. keyed.OrderBy(k => k.Rank).ThenBy(k => k.Folder).Select(k => k.Item)];
    }

    private static ManifestFile LinkEntry(SourceEntry entry, string linkTarget)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(linkTarget);
        return new ManifestFile(entry.Path, bytes.Length, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), "0777", entry.Version, linkTarget);
    }

    private static async Task<ManifestFile> FetchAsync(SourceSnapshot snapshot, SourceEntry entry, UnixFileMode mode, VolumeFolder folder, string name, ByteBudget budget, TransferProgress progress, CancellationToken cancellationToken)
    {
        // One open that creates the file with its mode, the writes (pwrite), one close.
        using var file = folder.CreateFile(name, mode);
        using var hashing = new HashingWriteStream(file, entry.Path, budget, progress);
        await snapshot.WriteContentAsync(entry, hashing, cancellationToken);
        if (entry.Size >= 0 && hashing.BytesWritten != entry.Size)
        {
            throw new SourceException($"'{entry.Path}': the source listed {entry.Size} bytes but sent {hashing.BytesWritten}; it changed during the sync and will be retried");
        }

        // Made durable together with the whole tree by one syncfs(2) before the tree is moved into place.
        if (hashing.BytesWritten >= EarlyWritebackBytes)
        {
            Libc.StartWriteback(file);
        }

        return new ManifestFile(entry.Path, hashing.BytesWritten, hashing.Sha256(), ManifestFile.FormatMode(mode), entry.Version);
    }

    // A file of the live tree replaced by a link or a FIFO (a tampered volume) is not carried into the new tree.
    private static bool IsRegularFile(VolumeFolder folder, string name)
    {
        if (folder.TypeOf(name) == Libc.TypeFile)
        {
            return true;
        }

        folder.DeleteFile(name);
        return false;
    }
}
