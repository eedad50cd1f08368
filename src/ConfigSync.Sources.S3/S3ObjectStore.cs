using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using ConfigSync.Diagnostics;

namespace ConfigSync.Sources.S3;

/// <summary>A bucket prefix <c>configsync publish</c> writes into, with the client (credentials, endpoint, metering) of <see cref="S3Source"/>.</summary>
internal sealed class S3ObjectStore(S3SourceOptions options, SourceMeter meter, TimeProvider time) : IObjectStore
{
    private readonly S3Source _source = new(options, int.MaxValue, meter, time);

    public string Describe => _source.Describe;

    public async Task<IReadOnlyDictionary<string, string>> ListAsync(CancellationToken cancellationToken)
    {
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        var request = new ListObjectsV2Request { BucketName = options.Bucket, Prefix = options.Prefix };
        await CallAsync("listing the prefix", async client =>
        {
            ListObjectsV2Response response;
            do
            {
                response = await client.ListObjectsV2Async(request, cancellationToken);
                foreach (var item in response.S3Objects ?? [])
                {
                    keys[item.Key[options.Prefix.Length..]] = (item.ETag ?? string.Empty).Trim('"');
                }

                request.ContinuationToken = response.NextContinuationToken;
            }
            while (response.IsTruncated == true && request.ContinuationToken is not null);
            return 0;
        });
        return keys;
    }

    public async Task<(byte[] Bytes, string ETag)?> ReadAsync(string key, long maxBytes, CancellationToken cancellationToken)
    {
        try
        {
            return await CallAsync($"reading '{key}'", async client =>
            {
                using var response = await client.GetObjectAsync(options.Bucket, options.Prefix + key, cancellationToken);
                return (await SourceIndex.ReadAsync(response.ResponseStream, key, cancellationToken, maxBytes), (response.ETag ?? string.Empty).Trim('"'));
            });
        }
        catch (SourceException e) when (e.InnerException is AmazonS3Exception { StatusCode: HttpStatusCode.NotFound, ErrorCode: "NoSuchKey" or null })
        {
            return null;
        }
    }

    public Task<string> PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        CallAsync($"uploading '{key}'", client => PutAsync(client, key, content, null, ifNoneMatch: false, cancellationToken));

    public async Task<string?> CreateAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        try
        {
            return await CallAsync($"uploading '{key}'", client => PutAsync(client, key, content, null, ifNoneMatch: true, cancellationToken));
        }
        catch (SourceException e) when (e.InnerException is AmazonS3Exception { StatusCode: HttpStatusCode.PreconditionFailed or HttpStatusCode.Conflict })
        {
            return null;
        }
    }

    public async Task<bool> ReplaceAsync(string key, ReadOnlyMemory<byte> content, string? replacing, CancellationToken cancellationToken)
    {
        try
        {
            // S3 conditional writes: If-Match on the ETag read, or If-None-Match: * when there was none.
            await CallAsync($"uploading '{key}'", client => PutAsync(client, key, content, replacing, ifNoneMatch: replacing is null, cancellationToken));
            return true;
        }
        catch (SourceException e) when (e.InnerException is AmazonS3Exception { StatusCode: HttpStatusCode.PreconditionFailed or HttpStatusCode.Conflict })
        {
            return false;
        }
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken) =>
        CallAsync($"deleting '{key}'", async client => await client.DeleteObjectAsync(options.Bucket, options.Prefix + key, cancellationToken));

    public ValueTask DisposeAsync() => _source.DisposeAsync();

    private async Task<string> PutAsync(AmazonS3Client client, string key, ReadOnlyMemory<byte> content, string? ifMatch, bool ifNoneMatch, CancellationToken cancellationToken)
    {
        using var body = new MemoryStream(content.ToArray(), writable: false);
        var request = new PutObjectRequest
        {
            BucketName = options.Bucket,
            Key = options.Prefix + key,
            InputStream = body,
            UseChunkEncoding = false, // S3-compatible stores over plain HTTP
            AutoCloseStream = false,
            ContentType = "application/octet-stream",
        };
        if (ifMatch is not null)
        {
            request.IfMatch = $"\"{ifMatch}\"";
        }
        else if (ifNoneMatch)
        {
            request.IfNoneMatch = "*";
        }

        var response = await client.PutObjectAsync(request, cancellationToken);
        return (response.ETag ?? string.Empty).Trim('"');
    }

    private async Task<T> CallAsync<T>(string what, Func<AmazonS3Client, Task<T>> call)
    {
        try
        {
            return await call(_source.Client());
        }
        catch (AmazonS3Exception e) when (e.StatusCode is HttpStatusCode.NotFound && e.ErrorCode is "NoSuchKey" or null)
        {
            throw new SourceException($"{Describe}: {what}: not found", e);
        }
        catch (AmazonServiceException e)
        {
            throw new SourceException($"{what}: {_source.Explain(e).Message}", e);
        }
        catch (Exception e) when (e is AmazonClientException or HttpRequestException or IOException or TimeoutException)
        {
            throw new SourceException($"{Describe}: {what}: {Errors.Describe(e)}", e);
        }
    }
}
