namespace ConfigSync.Sources.S3;

/// <summary>Settings of the <c>s3</c> source.</summary>
public sealed class S3SourceOptions
{
    /// <summary>Every default, declared once by the initializers below, for the factory to start from; <see cref="Bucket"/> has none and holds a placeholder.</summary>
    internal static readonly S3SourceOptions Defaults = new() { Bucket = string.Empty };

    /// <summary>The bucket.</summary>
    public required string Bucket { get; init; }

    /// <summary>Folder-like key prefix; the published tree is relative to it. Always ends with <c>/</c> unless empty.</summary>
    public string Prefix { get; init; } = string.Empty;

    /// <summary>AWS region, for example <c>eu-west-1</c>. <value>The default value is the SDK's (environment, profile), or us-east-1 with an endpoint.</value></summary>
    public string? Region { get; init; }

    /// <summary>Endpoint of an S3-compatible store (MinIO, Ceph, R2...). <value>The default value is AWS.</value></summary>
    public Uri? Endpoint { get; init; }

    /// <summary>Path-style addressing (<c>endpoint/bucket/key</c>). <value>The default value is true with an endpoint, else false.</value></summary>
    public bool ForcePathStyle { get; init; }

    /// <summary>Downloads at once. <value>The default value is 16.</value></summary>
    public int Parallelism { get; init; } = 16;

    /// <summary>Keys per listing page (S3 returns at most 1,000). <value>The default value is 1000.</value></summary>
    public int PageSize { get; init; } = 1000;

    /// <summary>File holding the access key id; absent means the SDK's default chain (env, profile, IRSA, EKS Pod Identity).</summary>
    public string? AccessKeyIdFile { get; init; }

    /// <summary>File holding the secret access key.</summary>
    public string? SecretAccessKeyFile { get; init; }

    /// <summary>Key of the index object, relative to <see cref="Prefix"/> (see <c>configsync publish</c>); null lists the prefix at every poll.</summary>
    public string? Index { get; init; }
}
