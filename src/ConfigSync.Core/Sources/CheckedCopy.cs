using System.Security.Cryptography;

namespace ConfigSync.Sources;

/// <summary>Copies a downloaded body to its file, checking it against an MD5 the store gave for it.</summary>
public static class CheckedCopy
{
    /// <summary>The largest copy buffer: reads from a socket rarely return more.</summary>
    internal const int MaxBuffer = 64 * 1024;

    /// <summary>
    /// Copies <paramref name="body"/> (<paramref name="size"/> bytes as listed, -1 if unknown) into
    /// <paramref name="destination"/>, hashing it on the way with the platform's MD5 when
    /// <paramref name="expectedMd5"/> is given. Returns false when the bytes do not match it.
    /// </summary>
    /// <remarks>
    /// The buffer is the copy's own, sized to the body up to <see cref="MaxBuffer"/>, not rented from
    /// the shared pool: after 16 parallel downloads that pool kept one 128 KiB array per thread and
    /// core for minutes, over 1 MiB of an idle daemon's memory; these go with the sync's collection.
    /// </remarks>
    public static async Task<bool> CopyAsync(Stream body, Stream destination, long size, byte[]? expectedMd5, CancellationToken cancellationToken)
    {
        using var md5 = expectedMd5 is null ? null : IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        var buffer = GC.AllocateUninitializedArray<byte>(size < 0 ? MaxBuffer : (int)Math.Clamp(size, 512, MaxBuffer));
        int read;
        while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            md5?.AppendData(buffer, 0, read);
            await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
        }

        return md5 is null || CryptographicOperations.FixedTimeEquals(md5.GetHashAndReset(), expectedMd5);
    }
}
