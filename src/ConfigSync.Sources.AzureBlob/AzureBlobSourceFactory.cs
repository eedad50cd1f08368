using System.Net;
using ConfigSync.Configuration;
using ConfigSync.Diagnostics;

namespace ConfigSync.Sources.AzureBlob;

/// <summary>Makes <c>azureblob</c> sources.</summary>
public sealed class AzureBlobSourceFactory : SourceFactory<AzureBlobSourceOptions>
{
    /// <inheritdoc />
    public override string Type => "azureblob";

    /// <inheritdoc />
    protected override AzureBlobSourceOptions Read(SettingsReader reader, string baseDirectory)
    {
        var auth = reader.Section("auth");
        var (mode, secretFile, secretEnv) = ReadAuth(auth, baseDirectory);

        Uri? accountUrl = null;
        var container = reader.String("container");
        if (reader.String("containerUrl") is { } containerUrl)
        {
            if (reader.Has("accountUrl") || container is not null)
            {
                reader.Error("containerUrl", "set containerUrl, or accountUrl and container, not both");
            }

            if (Url(reader, "containerUrl", containerUrl) is { } url)
            {
                var path = url.AbsolutePath.TrimEnd('/');
                var slash = path.LastIndexOf('/');
                container = path[(slash + 1)..];
                accountUrl = new Uri(url.GetLeftPart(UriPartial.Authority) + path[..slash]);
                if (container.Length == 0)
                {
                    reader.Error("containerUrl", $"'{Redact.Url(containerUrl)}' names no container (https://ACCOUNT.blob.core.windows.net/CONTAINER)");
                }
            }
        }
        else if (reader.String("accountUrl") is { } text)
        {
            accountUrl = Url(reader, "accountUrl", text);
        }

        if (mode == AzureBlobAuthMode.ConnectionString)
        {
            if (accountUrl is not null)
            {
                reader.Error("accountUrl", "a connection string carries the endpoint: with auth.connectionStringFile or auth.connectionStringEnv set only container");
            }
        }
        else if (accountUrl is null && !reader.Has("containerUrl") && !reader.Has("accountUrl"))
        {
            reader.Error("containerUrl", "required: the container's URL (https://ACCOUNT.blob.core.windows.net/CONTAINER), or accountUrl and container, or auth.connectionStringFile and container");
        }

        if (container is null)
        {
            if (!reader.Has("containerUrl"))
            {
                reader.Error("container", "required: the container name");
            }
        }
        else if (!ValidContainer(container))
        {
            reader.Error(reader.Has("containerUrl") ? "containerUrl" : "container", $"'{container}' is not a valid container name (3-63 characters of a-z, 0-9 and single '-', or $root, $web)");
        }

        var accountName = auth.String("accountName");
        if (mode == AzureBlobAuthMode.AccountKey && accountName is null && accountUrl is not null && AccountNameOf(accountUrl) is null)
        {
            auth.Error("accountName", $"required with accountKeyFile: the account name cannot be read from '{accountUrl}'");
        }

        if (mode != AzureBlobAuthMode.AccountKey && accountName is not null)
        {
            auth.Error("accountName", "only used with auth.accountKeyFile");
        }

        var defaults = AzureBlobSourceOptions.Defaults;
        return new AzureBlobSourceOptions
        {
            AccountUrl = accountUrl,
            Container = container ?? string.Empty,
            Prefix = reader.String("prefix", defaults.Prefix)!.Trim('/') is { Length: > 0 } prefix ? prefix + "/" : string.Empty,
            Parallelism = reader.Int("parallelism", defaults.Parallelism, 1, 256),
            PageSize = reader.Int("pageSize", defaults.PageSize, 1, 5000),
            Index = IndexKey.Read(reader),
            Auth = mode,
            SecretFile = secretFile,
            SecretEnvironmentVariable = secretEnv,
            AccountName = accountName ?? (accountUrl is null ? null : AccountNameOf(accountUrl)),
            ManagedIdentityClientId = auth.String("managedIdentityClientId"),
            DisableInstanceDiscovery = auth.Bool("disableInstanceDiscovery", defaults.DisableInstanceDiscovery),
        };
    }

    /// <inheritdoc />
    protected override IConfigSource Create(AzureBlobSourceOptions options, SourceContext context) => new AzureBlobSource(options, context.MaxEntries, context.Meter, context.TimeProvider);

    /// <inheritdoc />
    protected override IObjectStore CreateStore(AzureBlobSourceOptions options, SourceContext context) => new AzureBlobObjectStore(options, context.Meter, context.TimeProvider);

    /// <inheritdoc />
    protected override string? IndexOf(AzureBlobSourceOptions options) => options.Index;

    /// <summary>The account name in a blob service URL: the first label of ACCOUNT.blob.core.windows.net,
    /// or the first path segment of an emulator-style URL (http://127.0.0.1:10000/ACCOUNT).</summary>
    internal static string? AccountNameOf(Uri accountUrl)
    {
        if (IPAddress.TryParse(accountUrl.Host, out _) || accountUrl.IsLoopback)
        {
            var segment = accountUrl.AbsolutePath.Trim('/').Split('/')[0];
            return segment.Length > 0 ? segment : null;
        }

        var dot = accountUrl.Host.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 ? accountUrl.Host[..dot] : null;
    }

    private static (AzureBlobAuthMode Mode, string? File, string? Env) ReadAuth(SettingsReader auth, string baseDirectory)
    {
        var chosen = new List<(string Key, AzureBlobAuthMode Mode, string? File, string? Env)>();
        void File(string key, AzureBlobAuthMode mode)
        {
            if (auth.String(key) is { } file)
            {
                chosen.Add((key, mode, Path.GetFullPath(file, baseDirectory), null));
            }
        }

        void Flag(string key, AzureBlobAuthMode mode)
        {
            if (auth.Bool(key, false))
            {
                chosen.Add((key, mode, null, null));
            }
        }

        File("connectionStringFile", AzureBlobAuthMode.ConnectionString);
        if (auth.String("connectionStringEnv") is { } env)
        {
            chosen.Add(("connectionStringEnv", AzureBlobAuthMode.ConnectionString, null, env));
        }

        File("sasTokenFile", AzureBlobAuthMode.SasToken);
        File("accountKeyFile", AzureBlobAuthMode.AccountKey);
        Flag("workloadIdentity", AzureBlobAuthMode.WorkloadIdentity);
        Flag("managedIdentity", AzureBlobAuthMode.ManagedIdentity);
        if (auth.Has("managedIdentityClientId") && !chosen.Any(c => c.Mode == AzureBlobAuthMode.ManagedIdentity))
        {
            chosen.Add(("managedIdentityClientId", AzureBlobAuthMode.ManagedIdentity, null, null));
        }

        Flag("defaultCredential", AzureBlobAuthMode.DefaultCredential);
        auth.Known("accountName");
        if (chosen.Count > 1)
        {
            auth.Error(chosen[1].Key, $"choose one way to authenticate; {string.Join(", ", chosen.Select(c => c.Key))} are all set");
        }

        return chosen.Count == 0 ? (AzureBlobAuthMode.Anonymous, null, null) : (chosen[0].Mode, chosen[0].File, chosen[0].Env);
    }

    private static Uri? Url(SettingsReader reader, string key, string text)
    {
        if (!UrlCredentials.Check(reader, key, text, "put a SAS token in auth.sasTokenFile instead"))
        {
            return null;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            reader.Error(key, $"'{Redact.Url(text)}' is not an http:// or https:// URL");
            return null;
        }

        if (url.Query.Length > 1 || url.UserInfo.Length > 0)
        {
            // A URL is printed in logs and /status; a credential in it would be too.
            reader.Error(key, $"'{Redact.Url(text)}' carries a credential; put a SAS token in auth.sasTokenFile instead");
            return null;
        }

        return url;
    }

    private static bool ValidContainer(string name) =>
        name is "$root" or "$web"
        || (name.Length is >= 3 and <= 63
            && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-')
            && name[0] != '-' && name[^1] != '-' && !name.Contains("--", StringComparison.Ordinal));
}
