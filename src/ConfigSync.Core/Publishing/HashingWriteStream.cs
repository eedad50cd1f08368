using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace ConfigSync.Publishing;

/// <summary>
/// A write-only stream that hashes and counts what passes through to a file, enforcing the byte limit
/// as it goes. It writes with pwrite(2) at its own offset: no FileStream or RandomAccess, so no lock,
/// seek, stat or buffer calls per file.
/// </summary>
internal sealed class HashingWriteStream(SafeFileHandle file, string entryPath, ByteBudget budget, TransferProgress? progress = null) : Stream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public long BytesWritten { get; private set; }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => BytesWritten;

    public override long Position
    {
        get => BytesWritten;
        set => throw new NotSupportedException();
    }

    public string Sha256() => Convert.ToHexStringLower(_hash.GetHashAndReset());

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Account(buffer.Length);
        _hash.AppendData(buffer);
        Libc.WriteAt(file, buffer, BytesWritten - buffer.Length, $"write '{entryPath}'");
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        // The file is on a local volume: a plain write. An async write on a file opened for
        // synchronous I/O would hand every chunk to another thread-pool thread.
        cancellationToken.ThrowIfCancellationRequested();
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    // Nothing is buffered; durability comes from the publisher's syncfs.
    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
        }

        base.Dispose(disposing);
    }

    private void Account(int count)
    {
        BytesWritten += count;
        budget.Take(count, entryPath);
        progress?.AddBytes(count);
    }
}

/// <summary>The bytes a tree may still take (<c>limits.maxBytes</c>), shared by parallel writers.</summary>
internal sealed class ByteBudget(long limit)
{
    private long _used;

    public void Take(long count, string entryPath)
    {
        if (Interlocked.Add(ref _used, count) > limit)
        {
            throw new PublishException($"refused the revision: writing '{entryPath}' took the tree past limits.maxBytes ({limit} bytes)");
        }
    }
}
