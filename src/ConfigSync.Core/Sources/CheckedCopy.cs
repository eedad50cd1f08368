using System.Buffers;
using System.Security.Cryptography;

namespace ConfigSync.Sources;

/// <summary>Copies a downloaded body to its file, checking it against an MD5 the store gave for it (or an index's SHA-256).</summary>
public static class CheckedCopy
{
    /// <summary>Bodies up to this size are copied through a buffer of their own, of their size.</summary>
    internal const int OwnBufferUpTo = 64 * 1024;

    /// <summary>
    /// Copies <paramref name="body"/> (<paramref name="size"/> bytes as listed, -1 if unknown) into
    /// <paramref name="destination"/>, hashing it on the way with the platform's MD5 when
    /// <paramref name="expectedMd5"/> is given (with <paramref name="algorithm"/> when named). Returns false when the
    /// bytes do not match it.
    /// </summary>
    /// <remarks>
    /// A small body gets a buffer of its own size: the shared pool hands a 1 KiB object a 128 KiB
    /// array and keeps one per thread and core for minutes after a sync of small files (over 1 MiB of
    /// an idle daemon; docs/benchmarks.md). A larger body takes a pooled 128 KiB buffer, reused from
    /// file to file: reads that large cost less CPU than 64 KiB ones (Azure, 200 files of 1 MiB:
    /// 808 against 888 ms).
    /// </remarks>
    public static async Task<bool> CopyAsync(Stream body, Stream destination, long size, byte[]? expectedMd5, CancellationToken cancellationToken, HashAlgorithmName? algorithm = null)
    {
        using var md5 = expectedMd5 is null ? null : IncrementalHash.CreateHash(algorithm ?? HashAlgorithmName.MD5);
        var pooled = size is < 0 or > OwnBufferUpTo;
        var buffer = pooled ? ArrayPool<byte>.Shared.Rent(128 * 1024) : GC.AllocateUninitializedArray<byte>((int)Math.Max(size, 512));
        try
        {
            int read;
            while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
            {
                md5?.AppendData(buffer, 0, read);
                await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
        }
        finally
        {
            if (pooled)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        return md5 is null || CryptographicOperations.FixedTimeEquals(md5.GetHashAndReset(), expectedMd5);
    }
}
