using Azure;
using Azure.Storage.Blobs.Models;

namespace ConfigSync.Sources.AzureBlob;

/// <summary>
/// Index mode (<c>source.index</c>): each poll is one conditional download of the index blob (<c>If-None-Match</c> on
/// the ETag last read; an unchanged index is one 304, no listing); a changed one names the revision and every blob's
/// ETag and SHA-256, and only blobs the live tree lacks are downloaded, each pinned to its ETag and checked against its
/// SHA-256. A blob the container no longer holds as indexed fails the sync by name (retried), never a mix.
/// </summary>
internal sealed partial class AzureBlobSource
{
    private SourceIndex? _index;
    private ETag? _indexETag;

    private async Task<SourceSnapshot?> PollIndexAsync(PollContext context, CancellationToken cancellationToken)
    {
        var client = Client();
        var name = _options.Prefix + _options.Index;
        var conditions = _index is not null && _indexETag is { } last ? new BlobRequestConditions { IfNoneMatch = last } : null;
        try
        {
            var response = await client.GetBlobClient(name).DownloadStreamingAsync(new BlobDownloadOptions { Conditions = conditions }, cancellationToken);

            // A 304 answer has no value: reading Value would throw (ResponseBodyNotFoundException); the status comes first.
            var status = response.GetRawResponse().Status;
            if (status == 200 && response.HasValue)
            {
                using var result = response.Value;
                var index = SourceIndex.Parse(await SourceIndex.ReadAsync(result.Content, name, cancellationToken), name, _options.Index!, maxEntries);
                (_index, _indexETag) = (index, result.Details.ETag);
            }
            else if (status != 304 || _index is null)
            {
                // A conditional download answered 304 does not throw and has no content: only then does the last index stand.
                throw new SourceException($"{Describe}: index '{name}': the download answered HTTP {status} instead of the content; nothing is published from it");
            }
        }
        catch (RequestFailedException e) when (e.ErrorCode == "BlobNotFound")
        {
            throw new SourceException($"index '{name}' does not exist in container '{_options.Container}' ({Describe}); publish the tree with 'configsync publish', or remove source.index to list the prefix", e);
        }
        catch (Exception e) when (e is not SourceException and not OperationCanceledException)
        {
            throw Explain(e, name);
        }

        var current = _index;
        return current.Revision == context.LastRevision ? null : new Snapshot(this, client, current.Revision, current.Entries(), [], current)
        {
            MaxParallelism = _options.Parallelism,
            Details = current.Details(),
        };
    }
}
