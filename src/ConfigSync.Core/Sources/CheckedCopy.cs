using System.Buffers;
using System.Security.Cryptography;

namespace ConfigSync.Sources;

/// <summary>Copies a downloaded body to its file, checking it against an MD5 the store gave for it.</summary>
public static class CheckedCopy
{
    /// <summary>
    /// Copies <paramref name="body"/> into <paramref name="destination"/> in 80 KiB chunks, hashing it on
    /// the way with the platform's MD5 when <paramref name="expectedMd5"/> is given. Returns false when
    /// the bytes do not match it.
    /// </summary>
    public static async Task<bool> CopyAsync(Stream body, Stream destination, byte[]? expectedMd5, CancellationToken cancellationToken)
    {
        using var md5 = expectedMd5 is null ? null : IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        var buffer = ArrayPool<byte>.Shared.Rent(81920);
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
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return md5 is null || CryptographicOperations.FixedTimeEquals(md5.GetHashAndReset(), expectedMd5);
    }
}
