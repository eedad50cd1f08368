namespace ConfigSync.Sources;

/// <summary>
/// A bucket or container prefix that <c>configsync publish</c> writes a tree into (keys are relative to the prefix).
/// Made by the factory of the same source type (<see cref="ISourceFactory.CreateStore"/>), from the same settings.
/// </summary>
public interface IObjectStore : IAsyncDisposable
{
    /// <summary>What it is, credentials removed.</summary>
    string Describe { get; }

    /// <summary>Every object under the prefix: key (relative) to ETag.</summary>
    Task<IReadOnlyDictionary<string, string>> ListAsync(CancellationToken cancellationToken);

    /// <summary>An object's bytes and ETag, or null when there is none; past <paramref name="maxBytes"/>, <see cref="TooLargeException"/>.</summary>
    Task<(byte[] Bytes, string ETag)?> ReadAsync(string key, long maxBytes, CancellationToken cancellationToken);

    /// <summary>Writes an object, over whatever is there; returns the ETag the store gave it (without quotes).</summary>
    Task<string> PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);

    /// <summary>
    /// Writes an object only if there is none (<c>If-None-Match: *</c>); returns its ETag, or null when one exists.
    /// A store that ignores the condition writes over it.
    /// </summary>
    Task<string?> CreateAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);

    /// <summary>
    /// Writes an object only if it is still the one read: its ETag is <paramref name="replacing"/>, or, when that is
    /// null, there is none. Returns false (nothing written) when another writer came first.
    /// </summary>
    Task<bool> ReplaceAsync(string key, ReadOnlyMemory<byte> content, string? replacing, CancellationToken cancellationToken);

    /// <summary>Deletes an object (no error when it is gone already).</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken);
}
