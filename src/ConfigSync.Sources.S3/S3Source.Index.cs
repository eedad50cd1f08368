using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using ConfigSync.Diagnostics;

namespace ConfigSync.Sources.S3;

/// <summary>
/// Index mode (<c>source.index</c>): each poll is one conditional GET of the index object (<c>If-None-Match</c> on
/// the ETag last read, so an unchanged index costs one 304 and no LIST); a changed index names the revision and every
/// object's ETag and SHA-256, and only objects the live tree lacks are downloaded, each pinned to its ETag and checked
/// against its SHA-256. An object the store no longer holds as indexed fails the sync by name (retried), never a mix.
/// </summary>
internal sealed partial class S3Source
{
    private SourceIndex? _index;
    private string? _indexETag;

    private async Task<SourceSnapshot?> PollIndexAsync(PollContext context, CancellationToken cancellationToken)
    {
        var client = Client();
        var key = _options.Prefix + _options.Index;
        var request = new GetObjectRequest { BucketName = _options.Bucket, Key = key };
        if (_index is not null && _indexETag is not null)
        {
            request.EtagToNotMatch = $"\"{_indexETag}\"";
        }

        try
        {
            using var response = await client.GetObjectAsync(request, cancellationToken);
            var index = SourceIndex.Parse(await SourceIndex.ReadAsync(response.ResponseStream, key, cancellationToken), key, _options.Index!, maxEntries);
            (_index, _indexETag) = (index, ETag(response.ETag));
        }
        catch (AmazonS3Exception e) when (e.StatusCode is HttpStatusCode.NotModified && _index is not null)
        {
            // Unchanged since the last read: the index read then stands.
        }
        catch (AmazonS3Exception e) when (e.StatusCode is HttpStatusCode.NotModified)
        {
            throw new SourceException($"{Describe}: index '{key}': the store answered 304 to a request without a condition; nothing is published from it", e);
        }
        catch (AmazonS3Exception e) when (e.ErrorCode == "NoSuchKey")
        {
            throw new SourceException($"index '{key}' does not exist in bucket '{_options.Bucket}' ({Describe}); publish the tree with 'configsync publish', or remove source.index to list the prefix", e);
        }
        catch (AmazonServiceException e)
        {
            throw Explain(e);
        }
        catch (Exception e) when (e is AmazonClientException or HttpRequestException or IOException or TimeoutException)
        {
            throw new SourceException($"{Describe}: reading index '{key}': {Errors.Describe(e)}", e);
        }

        var current = _index!;
        return current.Revision == context.LastRevision ? null : new Snapshot(this, client, current.Revision, current.Entries(), current)
        {
            MaxParallelism = _options.Parallelism,
            Details = current.Details(),
        };
    }
}
