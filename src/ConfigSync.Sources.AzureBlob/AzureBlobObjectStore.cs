using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace ConfigSync.Sources.AzureBlob;

/// <summary>A container prefix <c>configsync publish</c> writes into, with the client (credentials, metering) of <see cref="AzureBlobSource"/>.</summary>
internal sealed class AzureBlobObjectStore(AzureBlobSourceOptions options, SourceMeter meter, TimeProvider time) : IObjectStore
{
    private readonly AzureBlobSource _source = new(options, int.MaxValue, meter, time);

    public string Describe => _source.Describe;

    public async Task<IReadOnlyDictionary<string, string>> ListAsync(CancellationToken cancellationToken)
    {
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        await CallAsync(null, async client =>
        {
            await foreach (var item in client.GetBlobsAsync(new GetBlobsOptions { Prefix = options.Prefix }, cancellationToken))
            {
                keys[item.Name[options.Prefix.Length..]] = (item.Properties.ETag?.ToString() ?? string.Empty).Trim('"');
            }

            return 0;
        });
        return keys;
    }

    public Task<(byte[] Bytes, string ETag)?> ReadAsync(string key, long maxBytes, CancellationToken cancellationToken) =>
        CallAsync<(byte[] Bytes, string ETag)?>(key, async client =>
        {
            try
            {
                var response = await client.GetBlobClient(options.Prefix + key).DownloadStreamingAsync(cancellationToken: cancellationToken);
                using var result = response.Value;
                return (await SourceIndex.ReadAsync(result.Content, key, cancellationToken, maxBytes), result.Details.ETag.ToString().Trim('"'));
            }
            catch (RequestFailedException e) when (e.ErrorCode == "BlobNotFound")
            {
                return null;
            }
        });

    public Task<string> PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        CallAsync(key, async client =>
        {
            var response = await client.GetBlobClient(options.Prefix + key).UploadAsync(BinaryData.FromBytes(content), overwrite: true, cancellationToken);
            return response.Value.ETag.ToString().Trim('"');
        });

    public async Task<string?> CreateAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        try
        {
            return await CallAsync(key, async client => (await client.GetBlobClient(options.Prefix + key).UploadAsync(
                BinaryData.FromBytes(content),
                new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } },
                cancellationToken)).Value.ETag.ToString().Trim('"'));
        }
        catch (SourceException e) when (e.InnerException is RequestFailedException { Status: 412 or 409 })
        {
            return null;
        }
    }

    public async Task<bool> ReplaceAsync(string key, ReadOnlyMemory<byte> content, string? replacing, CancellationToken cancellationToken)
    {
        try
        {
            await CallAsync(key, async client => await client.GetBlobClient(options.Prefix + key).UploadAsync(
                BinaryData.FromBytes(content),
                new BlobUploadOptions { Conditions = replacing is null ? new BlobRequestConditions { IfNoneMatch = ETag.All } : new BlobRequestConditions { IfMatch = new ETag($"\"{replacing}\"") } },
                cancellationToken));
            return true;
        }
        catch (SourceException e) when (e.InnerException is RequestFailedException { Status: 412 or 409 })
        {
            return false;
        }
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken) =>
        CallAsync(key, async client => await client.GetBlobClient(options.Prefix + key).DeleteIfExistsAsync(cancellationToken: cancellationToken));

    public ValueTask DisposeAsync() => _source.DisposeAsync();

    private async Task<T> CallAsync<T>(string? key, Func<BlobContainerClient, Task<T>> call)
    {
        try
        {
            return await call(_source.Client());
        }
        catch (Exception e) when (e is not SourceException and not OperationCanceledException)
        {
            throw _source.Explain(e, key is null ? null : options.Prefix + key);
        }
    }
}
