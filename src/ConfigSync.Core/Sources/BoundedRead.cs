namespace ConfigSync.Sources;

/// <summary>Reads a whole stream into memory, up to a limit: an answer or object past it costs no memory in proportion.</summary>
public static class BoundedRead
{
    /// <summary>The stream's bytes; past <paramref name="maxBytes"/>, a <see cref="TooLargeException"/> with the message <paramref name="tooLarge"/> makes.</summary>
    public static async Task<byte[]> ReadAllAsync(Stream stream, long maxBytes, Func<string> tooLarge, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                throw new TooLargeException(tooLarge());
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}
