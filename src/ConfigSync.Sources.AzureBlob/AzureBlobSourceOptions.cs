namespace ConfigSync.Sources.AzureBlob;

/// <summary>How the <c>azureblob</c> source authenticates.</summary>
public enum AzureBlobAuthMode
{
    /// <summary>No credential: a public container, or a SAS already in the container URL.</summary>
    Anonymous,

    /// <summary>A connection string read from a file or an environment variable.</summary>
    ConnectionString,

    /// <summary>A SAS token read from a file at every sync.</summary>
    SasToken,

    /// <summary>The storage account key read from a file at every sync.</summary>
    AccountKey,

    /// <summary>AKS workload identity: the federated token file the webhook projects.</summary>
    WorkloadIdentity,

    /// <summary>Managed identity, system-assigned or user-assigned (by client id).</summary>
    ManagedIdentity,

    /// <summary>Azure.Identity's DefaultAzureCredential chain.</summary>
    DefaultCredential,
}

/// <summary>Settings of the <c>azureblob</c> source.</summary>
public sealed class AzureBlobSourceOptions
{
    /// <summary>Every default, declared once by the initializers below, for the factory to start from; <see cref="Container"/> has none and holds a placeholder.</summary>
    internal static readonly AzureBlobSourceOptions Defaults = new() { Container = string.Empty };

    /// <summary>The blob service URL (<c>https://ACCOUNT.blob.core.windows.net</c>); null with a connection string.</summary>
    public Uri? AccountUrl { get; init; }

    /// <summary>The container.</summary>
    public required string Container { get; init; }

    /// <summary>Folder-like name prefix; the published tree is relative to it. Ends with <c>/</c> unless empty.</summary>
    public string Prefix { get; init; } = string.Empty;

    /// <summary>Downloads at once. <value>The default value is 16.</value></summary>
    public int Parallelism { get; init; } = 16;

    /// <summary>Blobs per listing page (the service returns at most 5,000). <value>The default value is 5000.</value></summary>
    public int PageSize { get; init; } = 5000;

    /// <summary>How to authenticate.</summary>
    public AzureBlobAuthMode Auth { get; init; }

    /// <summary>File holding the connection string, SAS token or account key (per <see cref="Auth"/>).</summary>
    public string? SecretFile { get; init; }

    /// <summary>Environment variable holding the connection string.</summary>
    public string? SecretEnvironmentVariable { get; init; }

    /// <summary>Storage account name for <see cref="AzureBlobAuthMode.AccountKey"/>. <value>The default value is taken from the URL.</value></summary>
    public string? AccountName { get; init; }

    /// <summary>Skip Microsoft Entra instance discovery (private clouds, Azure Stack, or where
    /// login.microsoftonline.com cannot be reached and AZURE_AUTHORITY_HOST points elsewhere).</summary>
    public bool DisableInstanceDiscovery { get; init; }

    /// <summary>Client id of a user-assigned managed identity; null for the system-assigned one.</summary>
    public string? ManagedIdentityClientId { get; init; }

    /// <summary>Name of the index blob, relative to <see cref="Prefix"/> (see <c>configsync publish</c>); null lists the prefix at every poll.</summary>
    public string? Index { get; init; }
}
