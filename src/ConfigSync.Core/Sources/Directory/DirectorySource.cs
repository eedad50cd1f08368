using System.Globalization;

namespace ConfigSync.Sources.Directory;

/// <summary>
/// Publishes a local folder. The revision is a hash of the (path, size, mtime, mode) list, so an
/// unchanged folder costs one walk and no reads; a file's version is its size and mtime, so only
/// files that changed are copied.
/// </summary>
internal sealed class DirectorySource(DirectorySourceOptions options) : IConfigSource
{
    private const UnixFileMode AnyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    public string Describe => $"dir:{options.Path}";

    public Task<SourceSnapshot?> PollAsync(PollContext context, CancellationToken cancellationToken)
    {
        var root = new DirectoryInfo(options.Path);
        if (!root.Exists)
        {
            throw new SourceException($"source folder '{options.Path}' does not exist");
        }

        var entries = new List<SourceEntry>();
        Walk(root, string.Empty, entries, cancellationToken);
        var revision = Revisions.FromListing(entries);
        return Task.FromResult<SourceSnapshot?>(revision == context.LastRevision ? null : new Snapshot(options.Path, revision, entries));
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static void Walk(DirectoryInfo folder, string prefix, List<SourceEntry> entries, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        foreach (var info in folder.EnumerateFileSystemInfos())
        {
            var path = prefix + info.Name;
            if (info.LinkTarget is { } target)
            {
                entries.Add(new SourceEntry(path, target.Length, "link:" + target, LinkTarget: target));
            }
            else if (info is DirectoryInfo sub)
            {
                Walk(sub, path + "/", entries, cancellationToken);
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
        public override async Task WriteContentAsync(SourceEntry entry, Stream destination, CancellationToken cancellationToken)
        {
            var path = System.IO.Path.Combine(root, entry.Path);
            try
            {
                await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
                await file.CopyToAsync(destination, 81920, cancellationToken);
            }
            catch (FileNotFoundException)
            {
                throw new SourceException($"'{entry.Path}' disappeared from '{root}' during the sync; it will be retried");
            }
        }
    }
}
