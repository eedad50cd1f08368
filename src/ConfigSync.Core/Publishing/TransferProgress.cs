namespace ConfigSync.Publishing;

/// <summary>
/// How far the write of a new tree has got: files and bytes done of those the source listed. Updated by the
/// parallel writers, read by <c>/status</c> and the <c>dev</c> console while a sync runs.
/// </summary>
internal sealed class TransferProgress
{
    private int _files;
    private int _filesDone;
    private long _bytes;
    private long _bytesDone;
    private int _active;

    /// <summary>Starts counting a write of <paramref name="files"/> entries of <paramref name="bytes"/> bytes (sizes the source knows).</summary>
    public void Start(int files, long bytes)
    {
        Volatile.Write(ref _filesDone, 0);
        Interlocked.Exchange(ref _bytesDone, 0);
        Volatile.Write(ref _files, files);
        Interlocked.Exchange(ref _bytes, bytes);
        Volatile.Write(ref _active, 1);
    }

    public void AddBytes(long count) => Interlocked.Add(ref _bytesDone, count);

    public void FileDone() => Interlocked.Increment(ref _filesDone);

    public void Stop() => Volatile.Write(ref _active, 0);

    /// <summary>The state now, or null when no tree is being written.</summary>
    public Sync.TransferState? Snapshot() =>
        Volatile.Read(ref _active) == 0
            ? null
            : new Sync.TransferState(Volatile.Read(ref _filesDone), Volatile.Read(ref _files), Interlocked.Read(ref _bytesDone), Interlocked.Read(ref _bytes));
}
