using System.Text;
using ConfigSync.Sources;

namespace ConfigSync.Tests.TestSupport;

/// <summary>A bucket prefix in memory: ETags change with every write, conditional writes as S3 does them.</summary>
internal sealed class MemoryObjectStore : IObjectStore
{
    private int _version;

    public Dictionary<string, (byte[] Bytes, string ETag)> Objects { get; } = new(StringComparer.Ordinal);

    public int? FailPutAfter { get; set; }

    public Action? BeforeIndexWrite { get; set; }

    public string Describe => "memory";

    public void Put(string key, string content) => Put(key, Encoding.UTF8.GetBytes(content));

    public void Put(string key, byte[] content)
    {
        lock (Objects)
        {
            Objects[key] = (content, $"v{++_version}");
        }
    }

    public Task<IReadOnlyDictionary<string, string>> ListAsync(CancellationToken cancellationToken)
    {
        lock (Objects)
        {
            return Task.FromResult<IReadOnlyDictionary<string, string>>(Objects.ToDictionary(o => o.Key, o => o.Value.ETag, StringComparer.Ordinal));
        }
    }

    public int? FailReadOf { get; set; }

    public string? FailReadKey { get; set; }

    public int Puts { get; private set; }

    public Task<(byte[] Bytes, string ETag)?> ReadAsync(string key, long maxBytes, CancellationToken cancellationToken)
    {
        lock (Objects)
        {
            if (key == FailReadKey)
            {
                throw new SourceException($"memory: reading '{key}': SlowDown (HTTP 503)");
            }

            if (!Objects.TryGetValue(key, out var found))
            {
                return Task.FromResult<(byte[], string)?>(null);
            }

            return found.Bytes.Length > maxBytes ? throw new TooLargeException($"'{key}' is larger than {maxBytes} bytes") : Task.FromResult<(byte[], string)?>(found);
        }
    }

    public async Task<string?> CreateAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        lock (Objects)
        {
            if (Objects.ContainsKey(key))
            {
                return null;
            }
        }

        return await PutAsync(key, content, cancellationToken);
    }

    public Task<string> PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        lock (Objects)
        {
            if (FailPutAfter is { } left)
            {
                if (left <= 0)
                {
                    throw new SourceException($"memory: uploading '{key}': refused");
                }

                FailPutAfter = left - 1;
            }

            Put(key, content.ToArray());
            Puts++;
            return Task.FromResult(Objects[key].ETag);
        }
    }

    public Task<bool> ReplaceAsync(string key, ReadOnlyMemory<byte> content, string? replacing, CancellationToken cancellationToken)
    {
        BeforeIndexWrite?.Invoke();
        lock (Objects)
        {
            var current = Objects.TryGetValue(key, out var found) ? found.ETag : null;
            if (current != replacing)
            {
                return Task.FromResult(false);
            }

            Put(key, content.ToArray());
            return Task.FromResult(true);
        }
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        lock (Objects)
        {
            Objects.Remove(key);
        }

        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
