using System.Globalization;

namespace ConfigSync.Sources.Dir;

/// <summary>
/// Publishes a local folder. The revision is a hash of the (path, size, mtime, mode) list, so an
/// unchanged folder costs one walk and no reads; a file's version is its size and mtime, so only
/// files that changed are copied.
/// </summary>
internal sealed class DirectorySource(DirectorySourceOptions options, Action requestSync, int maxEntries = int.MaxValue) : IConfigSource
{
    private const UnixFileMode AnyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
    private FileSystemWatcher? _watcher;
    private Timer? _debounce;

    public string Describe => $"dir:{options.Path}";

    public Task<SourceSnapshot?> PollAsync(PollContext context, CancellationToken cancellationToken)
    {
        var root = new DirectoryInfo(options.Path);
        if (!root.Exists)
        {
            StopWatching();
            throw new SourceException($"source folder '{options.Path}' does not exist");
        }

        if (options.Watch && _watcher is null)
        {
            StartWatching();
        }

        var entries = new List<SourceEntry>();
        Walk(root, string.Empty, entries, maxEntries, cancellationToken);
        var revision = Revisions.FromListing(entries);
        return Task.FromResult<SourceSnapshot?>(revision == context.LastRevision ? null : new Snapshot(options.Path, revision, entries));
    }

    public ValueTask DisposeAsync()
    {
        StopWatching();
        return ValueTask.CompletedTask;
    }

    private void StartWatching()
    {
        // Events only wake the loop early; the poll still walks the folder, so a missed event costs at most one interval.
        _debounce = new Timer(_ => requestSync());
        _watcher = new FileSystemWatcher(options.Path)
        {
            IncludeSubdirectories = true,
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.Attributes,
        };
        FileSystemEventHandler changed = (_, _) => _debounce?.Change(options.WatchDebounce, Timeout.InfiniteTimeSpan);
        _watcher.Changed += changed;
        _watcher.Created += changed;
        _watcher.Deleted += changed;
        _watcher.Renamed += (_, _) => _debounce?.Change(options.WatchDebounce, Timeout.InfiniteTimeSpan);
        _watcher.Error += (_, _) => requestSync();
        _watcher.EnableRaisingEvents = true;
    }

    private void StopWatching()
    {
        _watcher?.Dispose();
        _watcher = null;
        _debounce?.Dispose();
        _debounce = null;
    }

    private static void Walk(DirectoryInfo folder, string prefix, List<SourceEntry> entries, int maxEntries, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        foreach (var info in folder.EnumerateFileSystemInfos())
        {
            if (entries.Count > maxEntries)
            {
                throw SourceException.TooManyEntries($"'{folder.FullName}'", maxEntries);
            }

            var path = prefix + info.Name;
            if (info.LinkTarget is { } target)
            {
                entries.Add(new SourceEntry(path, target.Length, "link:" + target, LinkTarget: target));
            }
            else if (info is DirectoryInfo sub)
            {
                Walk(sub, path + "/", entries, maxEntries, cancellationToken);
            }
            else if (info is FileInfo file)
            {
                var version = string.Create(CultureInfo.InvariantCulture, $"{file.Length}-{file.LastWriteTimeUtc.Ticks}");
                entries.Add(new SourceEntry(path, file.Length, version, (file.UnixFileMode & AnyExecute) != 0));
            }
        }
    }

    private sealed class Snapshot(string root, string revision, IReadOnlyList<SourceEntry> entries) : SourceSnapshot(revision, entries)
    {
        public override Task WriteContentAsync(SourceEntry entry, Stream destination, CancellationToken cancellationToken)
        {
            // Opened without following a link: a file swapped for a link since the walk is not read through it.
            var path = Path.Combine(root, entry.Path);
            using var file = Publishing.Libc.OpenFile(path, Publishing.Libc.OpenReadNoFollow, 0);
            if (file.IsInvalid)
            {
                var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                throw new SourceException(errno == Publishing.Libc.NoEntry
                    ? $"'{entry.Path}' disappeared from '{root}' during the sync; it will be retried"
                    : $"'{entry.Path}' in '{root}' cannot be read ({(errno == Publishing.Libc.Loop ? "it became a symbolic link" : System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno))}); it will be retried");
            }

            if (Publishing.Libc.TypeOf(file) != Publishing.Libc.TypeFile)
            {
                throw new SourceException($"'{entry.Path}' in '{root}' is not a regular file (a FIFO, socket or device?); it is not published");
            }

            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(81920);
            try
            {
                long offset = 0;
                int read;
                while ((read = Publishing.Libc.ReadAt(file, buffer, offset, $"read '{path}'")) > 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    destination.Write(buffer, 0, read);
                    offset += read;
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }

            return Task.CompletedTask;
        }

        /// <summary>Walks the folder again: a file saved, added or removed during the copy (an editor saving several files) fails this attempt, and the next one copies one state.</summary>
        public override Task ConfirmAsync(CancellationToken cancellationToken)
        {
            var now = new List<SourceEntry>();
            Walk(new DirectoryInfo(root), string.Empty, now, int.MaxValue, cancellationToken);
            return Revisions.FromListing(now) == Revision
                ? Task.CompletedTask
                : throw new SourceException($"'{root}' changed while it was copied; nothing was published and the next attempt copies it again");
        }
    }
}
