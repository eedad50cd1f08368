using ConfigSync.Configuration;

namespace ConfigSync.Sources.S3;

/// <summary>Makes <c>s3</c> sources.</summary>
public sealed class S3SourceFactory : SourceFactory<S3SourceOptions>
{
    /// <inheritdoc />
    public override string Type => "s3";

    /// <inheritdoc />
    protected override S3SourceOptions Read(SettingsReader reader, string baseDirectory)
    {
        var defaults = S3SourceOptions.Defaults;
        var bucket = reader.RequiredString("bucket");
        if (bucket.Length > 0 && (bucket.Length is < 3 or > 63 || bucket.Any(c => !(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '.'))))
        {
            reader.Error("bucket", $"'{bucket}' is not a valid bucket name (3-63 characters of a-z, 0-9, '-' and '.')");
        }

        var prefix = reader.String("prefix", defaults.Prefix)!.Trim('/');
        Uri? endpoint = null;
        if (reader.String("endpoint") is { } text && UrlCredentials.Check(reader, "endpoint", text, "the endpoint takes no credentials: use auth.accessKeyIdFile and auth.secretAccessKeyFile")
            && (!Uri.TryCreate(text, UriKind.Absolute, out endpoint) || endpoint.Scheme is not ("http" or "https")))
        {
            reader.Error("endpoint", $"'{Diagnostics.Redact.Url(text)}' is not an http:// or https:// URL");
            endpoint = null;
        }

        var auth = reader.Section("auth");
        var keyId = auth.String("accessKeyIdFile");
        var secret = auth.String("secretAccessKeyFile");
        if ((keyId is null) != (secret is null))
        {
            auth.Error(keyId is null ? "accessKeyIdFile" : "secretAccessKeyFile", "set both auth.accessKeyIdFile and auth.secretAccessKeyFile, or neither (the SDK's default chain)");
        }

        return new S3SourceOptions
        {
            Bucket = bucket,
            Prefix = prefix.Length == 0 ? string.Empty : prefix + "/",
            Region = reader.String("region", defaults.Region),
            Endpoint = endpoint,
            ForcePathStyle = reader.Bool("forcePathStyle", endpoint is not null),
            Parallelism = reader.Int("parallelism", defaults.Parallelism, 1, 256),
            PageSize = reader.Int("pageSize", defaults.PageSize, 1, 1000),
            Index = IndexKey.Read(reader),
            AccessKeyIdFile = keyId is null ? null : Path.GetFullPath(keyId, baseDirectory),
            SecretAccessKeyFile = secret is null ? null : Path.GetFullPath(secret, baseDirectory),
        };
    }

    /// <inheritdoc />
    protected override IConfigSource Create(S3SourceOptions options, SourceContext context) => new S3Source(options, context.MaxEntries, context.Meter, context.TimeProvider);

    /// <inheritdoc />
    protected override IObjectStore CreateStore(S3SourceOptions options, SourceContext context) => new S3ObjectStore(options, context.Meter, context.TimeProvider);

    /// <inheritdoc />
    protected override string? IndexOf(S3SourceOptions options) => options.Index;
}
