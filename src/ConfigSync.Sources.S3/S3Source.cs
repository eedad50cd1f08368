using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using ConfigSync.Diagnostics;

namespace ConfigSync.Sources.S3;

/// <summary>
/// Publishes the objects under a prefix. Each poll lists the prefix flat (no delimiter, one
/// request per 1,000 keys); the revision is a hash of the sorted (key, ETag) list, so an
/// unchanged bucket costs the listing and no GET. Changed objects are downloaded in parallel,
/// each pinned to its listed ETag so an object replaced mid-sync fails the sync (and it is
/// retried) instead of publishing a mix.
/// </summary>
internal sealed partial class S3Source(S3SourceOptions options, int maxEntries = int.MaxValue, SourceMeter? meter = null, TimeProvider? time = null) : IConfigSource
{
    private readonly S3SourceOptions _options = options;
    private readonly SourceMeter _meter = meter ?? new SourceMeter(string.Empty, null);
    private AmazonS3Client? _client;
    private string? _credentialsStamp;
    private int _downloads;
    private int _listRequests;

    public string Describe => $"s3://{_options.Bucket}/{_options.Prefix}{(_options.Endpoint is null ? string.Empty : " at " + Redact.Url(_options.Endpoint.ToString()))}";

    /// <summary>GET requests made so far (for tests and benchmarks).</summary>
    internal int Downloads => Volatile.Read(ref _downloads);

    /// <summary>LIST requests made so far.</summary>
    internal int ListRequests => Volatile.Read(ref _listRequests);

    public async Task<SourceSnapshot?> PollAsync(PollContext context, CancellationToken cancellationToken)
    {
        if (_options.Index is not null)
        {
            return await PollIndexAsync(context, cancellationToken);
        }

        var client = Client();
        var entries = new List<SourceEntry>();
        var request = new ListObjectsV2Request { BucketName = _options.Bucket, Prefix = _options.Prefix, MaxKeys = _options.PageSize };
        try
        {
            ListObjectsV2Response response;
            do
            {
                Interlocked.Increment(ref _listRequests);
                response = await client.ListObjectsV2Async(request, cancellationToken);
                foreach (var item in response.S3Objects ?? [])
                {
                    var path = item.Key[_options.Prefix.Length..];
                    if (path.Length == 0 || path.EndsWith('/'))
                    {
                        continue; // a folder marker
                    }

                    entries.Add(new SourceEntry(path, item.Size ?? -1, ETag(item.ETag)));
                    if (entries.Count > maxEntries)
                    {
                        throw SourceException.TooManyEntries(Describe, maxEntries);
                    }
                }

                request.ContinuationToken = response.NextContinuationToken;
            }
            while (response.IsTruncated == true && request.ContinuationToken is not null);
        }
        catch (AmazonServiceException e)
        {
            throw Explain(e);
        }
        catch (System.Xml.XmlException e)
        {
            // A key holding a character XML 1.0 cannot carry (a control character): the SDK cannot read the page.
            throw new SourceException($"{Describe}: the listing cannot be read, a key holds a character XML cannot carry ({Publishing.PathRules.Shown(e.Message)}); rename the object", e);
        }
        catch (Exception e) when (e is AmazonClientException or HttpRequestException or IOException or TimeoutException)
        {
            throw new SourceException($"{Describe}: {Errors.Describe(e)}", e);
        }

        var revision = Revisions.FromListing(entries);
        return revision == context.LastRevision ? null : new Snapshot(this, client, revision, entries) { MaxParallelism = _options.Parallelism };
    }

    public ValueTask DisposeAsync()
    {
        _client?.Dispose();
        return ValueTask.CompletedTask;
    }

    private static string ETag(string? etag) => (etag ?? string.Empty).Trim('"');

    /// <summary>
    /// The body's MD5 when the ETag is one: a single-part upload without SSE-KMS or SSE-C (what the SDK
    /// checks on a whole-object GET, in managed code); null otherwise.
    /// </summary>
    private static byte[]? EtagMd5(GetObjectResponse response)
    {
        var etag = ETag(response.ETag);
        var encrypted = !string.IsNullOrEmpty(response.ServerSideEncryptionKeyManagementServiceKeyId)
            || (response.ServerSideEncryptionCustomerMethod is { } customer && customer != ServerSideEncryptionCustomerMethod.None);
        return encrypted || etag.Length != 32 || !etag.All(Uri.IsHexDigit) ? null : Convert.FromHexString(etag);
    }

    internal AmazonS3Client Client()
    {
        // Static keys are re-read at every poll: a rotated Secret is picked up without a restart.
        AWSCredentials? credentials = null;
        var stamp = "default-chain";
        if (_options.AccessKeyIdFile is not null && _options.SecretAccessKeyFile is not null)
        {
            var keyId = SecretFile.Read(_options.AccessKeyIdFile, "auth.accessKeyIdFile");
            var secret = SecretFile.Read(_options.SecretAccessKeyFile, "auth.secretAccessKeyFile");
            credentials = new BasicAWSCredentials(keyId, secret);
            stamp = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(keyId + "\n" + secret)));
        }

        if (_client is not null && stamp == _credentialsStamp)
        {
            return _client;
        }

        var config = new AmazonS3Config
        {
            ForcePathStyle = _options.ForcePathStyle,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            Timeout = TimeSpan.FromSeconds(30),
            MaxErrorRetry = 2,
            HttpClientFactory = new MeteredClientFactory(_meter, time ?? TimeProvider.System),
        };
        if (_options.Region is { } region)
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }

        if (_options.Endpoint is { } endpoint)
        {
            // Last: setting RegionEndpoint after ServiceURL would clear it.
            config.ServiceURL = endpoint.ToString();
            config.AuthenticationRegion = _options.Region ?? "us-east-1";
        }

        try
        {
            var client = credentials is null ? new AmazonS3Client(config) : new AmazonS3Client(credentials, config);
            _client?.Dispose();
            _credentialsStamp = stamp;
            return _client = client;
        }
        catch (AmazonClientException e)
        {
            throw new SourceException($"{Describe}: cannot create the S3 client: {e.Message} (set source.region, or auth files, or give the pod an IAM role)", e);
        }
    }

    internal SourceException Explain(AmazonServiceException e) => e.ErrorCode switch
    {
        _ when MeteredHttpHandler.IsThrottling((int)e.StatusCode) || e.ErrorCode is "SlowDown" or "Throttling" or "RequestLimitExceeded" =>
            new SourceException($"{Describe}: the store is throttling requests ({e.ErrorCode ?? "HTTP " + ((int)e.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture)}); the next attempt waits for its Retry-After, or backs off", e),
        "NoSuchBucket" => new SourceException($"bucket '{_options.Bucket}' does not exist ({Describe})", e),
        "InvalidAccessKeyId" or "SignatureDoesNotMatch" or "AccessDenied" or "ExpiredToken" or "InvalidToken" or "InvalidClientTokenId" =>
            new SourceException($"the credentials were refused for bucket '{_options.Bucket}' ({e.ErrorCode}); check auth.accessKeyIdFile and auth.secretAccessKeyFile, or the pod's IAM role", e),
        _ => new SourceException($"{Describe}: {e.ErrorCode ?? ((int)e.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture)}: {e.Message}", e),
    };

    /// <summary>Gives the SDK an HttpClient whose handler counts requests and throttling answers (the SDK's retries included).</summary>
    private sealed class MeteredClientFactory(SourceMeter meter, TimeProvider time) : HttpClientFactory
    {
        public override HttpClient CreateHttpClient(IClientConfig clientConfig) =>
            new(new MeteredHttpHandler(meter, static r => MeteredHttpHandler.ObjectStoreOperation(r, static q => q.Contains("list-type=", StringComparison.Ordinal)), time) { InnerHandler = MeteredHttpHandler.Transport() })
            {
                Timeout = clientConfig.Timeout ?? TimeSpan.FromSeconds(100),
            };

        // One client per S3 client (the meter is per sync): not shared through the SDK's cache.
        public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;

        public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;

        public override string GetConfigUniqueString(IClientConfig clientConfig) => "configsync-metered";
    }

    private sealed class Snapshot(S3Source source, AmazonS3Client client, string revision, IReadOnlyList<SourceEntry> entries, SourceIndex? index = null) : SourceSnapshot(revision, entries)
    {
        private readonly Dictionary<string, IndexedObject>? _indexed = index?.Objects.ToDictionary(o => o.Path, StringComparer.Ordinal);

        private string Listed => index is null ? "listed" : $"index {index.Revision}'s";

        public override async Task WriteContentAsync(SourceEntry entry, Stream destination, CancellationToken cancellationToken)
        {
            var indexed = _indexed?[entry.Path];
            var key = source._options.Prefix + (indexed?.Key ?? entry.Path);
            var etag = indexed?.ETag ?? entry.Version;
            var request = new GetObjectRequest { BucketName = source._options.Bucket, Key = key, EtagToMatch = $"\"{etag}\"" };
            if (entry.Size > 0)
            {
                // A range of the whole object: the SDK then leaves the body unwrapped (its MD5 check is
                // managed code, a quarter of the CPU of a large sync); the ETag is checked below instead.
                request.ByteRange = new ByteRange(0, entry.Size - 1);
            }

            Interlocked.Increment(ref source._downloads);
            try
            {
                using var response = await client.GetObjectAsync(request, cancellationToken);
                if (ETag(response.ETag) != etag)
                {
                    // Some S3-compatible stores ignore If-Match: check the ETag that came back too.
                    throw new SourceException($"'{key}' changed during the sync ({Listed} ETag {etag}, got {ETag(response.ETag)}); it will be retried");
                }

                var sha256 = indexed is null ? null : Convert.FromHexString(indexed.Sha256);
                if (!await CheckedCopy.CopyAsync(response.ResponseStream, destination, entry.Size, sha256 ?? EtagMd5(response), cancellationToken, sha256 is null ? null : System.Security.Cryptography.HashAlgorithmName.SHA256))
                {
                    throw new SourceException($"'{key}': the bytes received do not match {(sha256 is null ? "the object's ETag (an MD5)" : "the index's SHA-256")}; it will be retried");
                }
            }
            catch (AmazonS3Exception e) when (e.StatusCode is System.Net.HttpStatusCode.PreconditionFailed)
            {
                throw new SourceException($"'{key}' changed during the sync (its ETag is no longer the {Listed} {etag}); it will be retried", e);
            }
            catch (AmazonS3Exception e) when (e.ErrorCode == "NoSuchKey")
            {
                throw new SourceException($"'{key}' was deleted during the sync{(index is null ? string.Empty : $" (index {index.Revision} names it for '{entry.Path}')")}; it will be retried", e);
            }
            catch (AmazonServiceException e)
            {
                throw source.Explain(e);
            }
            catch (Exception e) when (e is AmazonClientException or HttpRequestException or TimeoutException)
            {
                throw new SourceException($"{source.Describe}: downloading '{key}': {Errors.Describe(e)}", e);
            }
        }
    }
}
