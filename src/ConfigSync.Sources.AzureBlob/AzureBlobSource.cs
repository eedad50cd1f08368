using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using ConfigSync.Diagnostics;

namespace ConfigSync.Sources.AzureBlob;

/// <summary>
/// Publishes the blobs under a prefix. Each poll lists the prefix flat (one request per page of up
/// to 5,000 names); the revision is a hash of the sorted (name, ETag) list, so an unchanged
/// container costs the listing and no download. Changed blobs are downloaded in parallel, each
/// conditioned on its listed ETag, the answer's status and ETag checked (a conditional download
/// answered 304 or 412 must never become an empty or mixed file), and the Content-MD5 the listing
/// gave checked against the bytes written.
/// </summary>
internal sealed partial class AzureBlobSource(AzureBlobSourceOptions options, int maxEntries = int.MaxValue, SourceMeter? meter = null, TimeProvider? time = null) : IConfigSource
{
    private static readonly string[] CredentialErrorCodes =
        ["AuthenticationFailed", "AuthorizationFailure", "AuthorizationPermissionMismatch", "InvalidAuthenticationInfo", "NoAuthenticationInformation", "AuthorizationResourceTypeMismatch"];

    private readonly AzureBlobSourceOptions _options = options;
    private readonly SourceMeter _meter = meter ?? new SourceMeter(string.Empty, null);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private BlobContainerClient? _client;
    private string? _connectionString;
    private AzureSasCredential? _sas;
    private StorageSharedKeyCredential? _sharedKey;
    private int _downloads;
    private int _listRequests;

    public string Describe => _options.AccountUrl is { } url
        ? $"azureblob {url.ToString().TrimEnd('/')}/{_options.Container}/{_options.Prefix}"
        : $"azureblob container '{_options.Container}'/{_options.Prefix} (connection string)";

    /// <summary>Downloads made so far (for tests and benchmarks).</summary>
    internal int Downloads => Volatile.Read(ref _downloads);

    /// <summary>Listing requests (pages) made so far.</summary>
    internal int ListRequests => Volatile.Read(ref _listRequests);

    public async Task<SourceSnapshot?> PollAsync(PollContext context, CancellationToken cancellationToken)
    {
        if (_options.Index is not null)
        {
            return await PollIndexAsync(context, cancellationToken);
        }

        var client = Client();
        var entries = new List<SourceEntry>();
        var hashes = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        try
        {
            var pages = client.GetBlobsAsync(new GetBlobsOptions { Prefix = _options.Prefix, Traits = BlobTraits.Metadata }, cancellationToken)
                .AsPages(pageSizeHint: _options.PageSize);
            await foreach (var page in pages)
            {
                Interlocked.Increment(ref _listRequests);
                foreach (var item in page.Values)
                {
                    var path = item.Name[_options.Prefix.Length..];
                    if (path.Length == 0 || path.EndsWith('/') || IsFolder(item))
                    {
                        continue; // a virtual-folder marker, or a directory of a hierarchical-namespace account
                    }

                    var etag = ETag(item.Properties.ETag);
                    entries.Add(new SourceEntry(path, item.Properties.ContentLength ?? -1, etag));
                    if (entries.Count > maxEntries)
                    {
                        throw SourceException.TooManyEntries(Describe, maxEntries);
                    }
                    if (item.Properties.ContentHash is { Length: > 0 } md5)
                    {
                        hashes[path] = md5;
                    }
                }
            }
        }
        catch (Exception e) when (e is not SourceException and not OperationCanceledException)
        {
            throw Explain(e, null);
        }

        var revision = Revisions.FromListing(entries);
        return revision == context.LastRevision ? null : new Snapshot(this, client, revision, entries, hashes) { MaxParallelism = _options.Parallelism };
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static bool IsFolder(BlobItem item) =>
        item.Metadata is { } metadata && metadata.TryGetValue("hdi_isfolder", out var folder) && string.Equals(folder, "true", StringComparison.OrdinalIgnoreCase);

    private static string ETag(ETag? etag) => (etag?.ToString() ?? string.Empty).Trim('"');

    internal BlobContainerClient Client()
    {
        // Secrets in files are re-read at every poll: a rotated Secret is picked up without a restart.
        switch (_options.Auth)
        {
            case AzureBlobAuthMode.ConnectionString:
                var connectionString = _options.SecretFile is { } file
                    ? ReadSecret(file, "auth.connectionStringFile")
                    : Environment.GetEnvironmentVariable(_options.SecretEnvironmentVariable!)?.Trim() is { Length: > 0 } value
                        ? Registered(value)
                        : throw new SourceException($"auth.connectionStringEnv: the environment variable '{_options.SecretEnvironmentVariable}' is not set");
                if (_client is null || connectionString != _connectionString)
                {
                    try
                    {
                        _client = new BlobServiceClient(connectionString, ClientOptions()).GetBlobContainerClient(_options.Container);
                    }
                    catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
                    {
                        // The exception's message could quote the string: name the setting only.
                        throw new SourceException($"{(_options.SecretFile is null ? "auth.connectionStringEnv" : "auth.connectionStringFile")}: not a valid storage connection string ({e.GetType().Name})");
                    }

                    _connectionString = connectionString;
                }

                return _client;

            case AzureBlobAuthMode.SasToken:
                var sas = ReadSecret(_options.SecretFile!, "auth.sasTokenFile").TrimStart('?');
                if (_sas is null)
                {
                    _sas = new AzureSasCredential(sas);
                    _client = new BlobContainerClient(ContainerUri(), _sas, ClientOptions());
                }
                else
                {
                    _sas.Update(sas);
                }

                return _client!;

            case AzureBlobAuthMode.AccountKey:
                var key = ReadSecret(_options.SecretFile!, "auth.accountKeyFile");
                try
                {
                    if (_sharedKey is null)
                    {
                        _sharedKey = new StorageSharedKeyCredential(_options.AccountName!, key);
                        _client = new BlobContainerClient(ContainerUri(), _sharedKey, ClientOptions());
                    }
                    else
                    {
                        _sharedKey.SetAccountKey(key);
                    }
                }
                catch (FormatException)
                {
                    _sharedKey = null;
                    throw new SourceException("auth.accountKeyFile: the account key is not base64");
                }

                return _client!;

            default:
                return _client ??= _options.Auth switch
                {
                    AzureBlobAuthMode.Anonymous => new BlobContainerClient(ContainerUri(), ClientOptions()),
                    _ => new BlobContainerClient(ContainerUri(), TokenCredential(), ClientOptions()),
                };
        }
    }

    private TokenCredential TokenCredential() => _options.Auth switch
    {
        // AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE, injected by the AKS workload identity webhook.
        AzureBlobAuthMode.WorkloadIdentity => new WorkloadIdentityCredential(new WorkloadIdentityCredentialOptions { DisableInstanceDiscovery = _options.DisableInstanceDiscovery, Transport = Metered(static _ => SourceMeter.Token) }),
        AzureBlobAuthMode.ManagedIdentity => new ManagedIdentityCredential(new ManagedIdentityCredentialOptions(_options.ManagedIdentityClientId is { } id
            ? ManagedIdentityId.FromUserAssignedClientId(id)
            : ManagedIdentityId.SystemAssigned) { Transport = Metered(static _ => SourceMeter.Token) }),
        _ => new DefaultAzureCredential(new DefaultAzureCredentialOptions { DisableInstanceDiscovery = _options.DisableInstanceDiscovery, Transport = Metered(static _ => SourceMeter.Token) }),
    };

    /// <summary>A transport whose requests (the client's retries included) are counted by <paramref name="classify"/>, and whose 429 and 503 answers are reported.</summary>
    private HttpClientTransport Metered(Func<HttpRequestMessage, string> classify) =>
        new(new MeteredHttpHandler(_meter, classify, _time) { InnerHandler = MeteredHttpHandler.Transport() });

    private Uri ContainerUri() => new(_options.AccountUrl!.ToString().TrimEnd('/') + "/" + _options.Container);

    private BlobClientOptions ClientOptions()
    {
        var options = new BlobClientOptions
        {
            Transport = Metered(static r => MeteredHttpHandler.ObjectStoreOperation(r, static q => q.Contains("comp=list", StringComparison.Ordinal))),
            RetryPolicy = new ThrottleAwareRetry(),
        };
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(30);
        return options;
    }

    /// <summary>Reads a secret file; the secret, and the keys and signatures in a connection string, are registered with <see cref="Redact"/>.</summary>
    private static string ReadSecret(string file, string setting) => Registered(SecretFile.Read(file, setting));

    private static string Registered(string secret)
    {
        Redact.Register(secret);
        foreach (var part in secret.Split(';'))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0 && part[..equals].Trim() is "AccountKey" or "SharedAccessSignature")
            {
                Redact.Register(part[(equals + 1)..].Trim());
            }
        }

        return secret;
    }

    private string AuthSetting => _options.Auth switch
    {
        AzureBlobAuthMode.ConnectionString => _options.SecretFile is null ? "auth.connectionStringEnv" : "auth.connectionStringFile",
        AzureBlobAuthMode.SasToken => "auth.sasTokenFile (expired or wrong SAS?)",
        AzureBlobAuthMode.AccountKey => "auth.accountKeyFile",
        AzureBlobAuthMode.WorkloadIdentity => "the workload identity's role assignment (Storage Blob Data Reader)",
        AzureBlobAuthMode.ManagedIdentity => "the managed identity's role assignment (Storage Blob Data Reader)",
        AzureBlobAuthMode.DefaultCredential => "the identity DefaultAzureCredential found",
        _ => "auth (the container is not public)",
    };

    internal SourceException Explain(Exception e, string? name)
    {
        var what = name is null ? Describe : $"{Describe}: '{name}'";
        return e switch
        {
            RequestFailedException { ErrorCode: "ContainerNotFound" } =>
                new SourceException($"container '{_options.Container}' does not exist ({Describe})", e),
            RequestFailedException { ErrorCode: "BlobNotFound" } =>
                new SourceException($"{what} was deleted during the sync; it will be retried", e),
            RequestFailedException { ErrorCode: "ConditionNotMet" } or RequestFailedException { Status: 412 } =>
                new SourceException($"{what} changed during the sync; it will be retried", e),
            RequestFailedException f when MeteredHttpHandler.IsThrottling(f.Status) =>
                new SourceException($"{what}: the account is throttling requests ({f.ErrorCode ?? "HTTP " + f.Status.ToString(System.Globalization.CultureInfo.InvariantCulture)}); the next attempt waits for its Retry-After, or backs off", e),
            RequestFailedException f when f.Status is 401 or 403 || CredentialErrorCodes.Contains(f.ErrorCode) =>
                new SourceException($"the credentials were refused for container '{_options.Container}' ({f.ErrorCode ?? f.Status.ToString(System.Globalization.CultureInfo.InvariantCulture)}); check {AuthSetting}", e),
            // The service's message quotes request details; its code and status say what went wrong.
            RequestFailedException { Status: > 0 } f =>
                new SourceException($"{what}: {f.ErrorCode ?? "error"} (HTTP {f.Status})", e),
            AuthenticationFailedException or CredentialUnavailableException =>
                new SourceException($"{Describe}: cannot get a token ({_options.Auth}): {Errors.Describe(e)}", e),
            _ => new SourceException($"{what}: {Errors.Describe(e)}", e),
        };
    }

    /// <summary>
    /// Two retries 200 ms apart for transient failures, none for a throttling answer (429, 503): the sync loop waits for
    /// its Retry-After between attempts instead of holding the attempt open in the client.
    /// </summary>
    private sealed class ThrottleAwareRetry() : RetryPolicy(maxRetries: 2, DelayStrategy.CreateExponentialDelayStrategy(TimeSpan.FromMilliseconds(200)))
    {
        protected override bool ShouldRetry(HttpMessage message, Exception? exception) =>
            !(message.HasResponse && MeteredHttpHandler.IsThrottling(message.Response.Status)) && base.ShouldRetry(message, exception);

        protected override ValueTask<bool> ShouldRetryAsync(HttpMessage message, Exception? exception) =>
            message.HasResponse && MeteredHttpHandler.IsThrottling(message.Response.Status) ? ValueTask.FromResult(false) : base.ShouldRetryAsync(message, exception);
    }

    private sealed class Snapshot(AzureBlobSource source, BlobContainerClient client, string revision, IReadOnlyList<SourceEntry> entries, Dictionary<string, byte[]> hashes, SourceIndex? index = null)
        : SourceSnapshot(revision, entries)
    {
        private readonly Dictionary<string, IndexedObject>? _indexed = index?.Objects.ToDictionary(o => o.Path, StringComparer.Ordinal);

        public override async Task WriteContentAsync(SourceEntry entry, Stream destination, CancellationToken cancellationToken)
        {
            var indexed = _indexed?[entry.Path];
            var name = source._options.Prefix + (indexed?.Key ?? entry.Path);
            var etag = indexed?.ETag ?? entry.Version;
            Interlocked.Increment(ref source._downloads);
            Response<BlobDownloadStreamingResult> response;
            try
            {
                response = await client.GetBlobClient(name).DownloadStreamingAsync(
                    new BlobDownloadOptions { Conditions = new BlobRequestConditions { IfMatch = new ETag($"\"{etag}\"") } },
                    cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw source.Explain(e, name);
            }

            var status = response.GetRawResponse().Status;
            if (status is not 200 || !response.HasValue)
            {
                // A conditional download answered 304 (or anything else) does not throw, and has no content (its Value throws).
                throw new SourceException($"{source.Describe}: '{name}': the download answered HTTP {status} instead of the content; nothing is published from it");
            }

            using var result = response.Value;

            if (ETag(result.Details.ETag) != etag)
            {
                throw new SourceException($"{source.Describe}: '{name}' changed during the sync ({(index is null ? "listed" : $"index {index.Revision}'s")} ETag {etag}, got {ETag(result.Details.ETag)}); it will be retried");
            }

            var sha256 = indexed is null ? null : Convert.FromHexString(indexed.Sha256);

            bool matches;
            try
            {
                matches = await CheckedCopy.CopyAsync(result.Content, destination, entry.Size, sha256 ?? hashes.GetValueOrDefault(entry.Path), cancellationToken, sha256 is null ? null : System.Security.Cryptography.HashAlgorithmName.SHA256);
            }
            catch (Exception e) when (e is IOException or RequestFailedException)
            {
                throw source.Explain(e, name);
            }

            if (!matches)
            {
                throw new SourceException($"{source.Describe}: '{name}': the bytes received do not match {(sha256 is null ? "the blob's Content-MD5" : "the index's SHA-256")}; it will be retried");
            }
        }
    }
}
