using System.Diagnostics;
using System.Globalization;
using Azure.Storage.Blobs;

namespace ConfigSync.Sources.AzureBlob.Tests.TestSupport;

/// <summary>
/// Azurite (npm, pinned in tests/servers), blob service only, in memory, on 127.0.0.1 and a free
/// port: Microsoft's emulator, which checks shared-key and SAS signatures. Started with
/// --skipApiVersionCheck because Azure.Storage.Blobs 12.30 sends an API version Azurite 3.37 does not know.
/// </summary>
public sealed class Azurite : IAsyncDisposable
{
    public const string Account = "devstoreaccount1";

    /// <summary>The emulator's well-known development account key (public, not a secret).</summary>
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly Process _process;

    private Azurite(Process process, int port, bool https)
    {
        _process = process;
        Port = port;
        Scheme = https ? "https" : "http";
        var options = new BlobClientOptions();
        if (https)
        {
            // The test's own seeding client only; the daemon trusts the test certificate properly.
            options.Transport = new Azure.Core.Pipeline.HttpClientTransport(new HttpClientHandler
            {
                ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator,
            });
        }

        Service = new BlobServiceClient(ConnectionString, options);
    }

    public int Port { get; }

    public string Scheme { get; }

    public string AccountUrl => $"{Scheme}://127.0.0.1:{Port}/{Account}";

    public string ConnectionString =>
        $"DefaultEndpointsProtocol={Scheme};AccountName={Account};AccountKey={AccountKey};BlobEndpoint={AccountUrl};";

    public BlobServiceClient Service { get; }

    /// <summary>Starts Azurite; with a certificate and key (PEM files) it serves https and accepts
    /// OAuth bearer tokens too (<c>--oauth basic</c>: issuer, audience and lifetime are checked, the
    /// signature is not).</summary>
    public static async Task<Azurite> StartAsync(string? certificateFile = null, string? keyFile = null)
    {
        var port = AppListener.FreePort();
        List<string> arguments = ["--blobHost", "127.0.0.1", "--blobPort", port.ToString(CultureInfo.InvariantCulture),
            "--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry", "--silent"];
        if (certificateFile is not null && keyFile is not null)
        {
            arguments.AddRange(["--cert", certificateFile, "--key", keyFile, "--oauth", "basic"]);
        }

        Captured.Secret(AccountKey); // well known, but ConfigSync must print no account key
        var process = NodeServer.Start(Path.Combine("azurite", "dist", "src", "blob", "main.js"), arguments);
        var server = new Azurite(process, port, certificateFile is not null);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                await server.Service.GetPropertiesAsync();
                return server;
            }
            catch (Exception) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>Makes a container (each test its own, on one shared server).</summary>
    public async Task<AzuriteContainer> CreateContainerAsync(string name)
    {
        var client = Service.GetBlobContainerClient(name);
        await client.CreateIfNotExistsAsync();
        return new AzuriteContainer(this, client);
    }

    public async ValueTask DisposeAsync()
    {
        await NodeServer.StopAsync(_process);
    }

    internal static string Text(int i) => "v" + i.ToString(CultureInfo.InvariantCulture);
}

/// <summary>One container on an <see cref="Azurite"/>, for seeding.</summary>
public sealed class AzuriteContainer(Azurite server, BlobContainerClient client)
{
    public string Name => client.Name;

    public BlobContainerClient Client => client;

    public string AccountUrl => server.AccountUrl;

    public string ConnectionString => server.ConnectionString;

    public Task PutAsync(string name, string content) => client.GetBlobClient(name).UploadAsync(BinaryData.FromString(content), overwrite: true);

    public Task DeleteAsync(string name) => client.GetBlobClient(name).DeleteAsync();
}

/// <summary>One Azurite for a test class; each test makes its own container.</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private int _containers;

    public Azurite Server { get; private set; } = null!;

    public Task<AzuriteContainer> NewContainerAsync() =>
        Server.CreateContainerAsync("test-" + Interlocked.Increment(ref _containers).ToString(CultureInfo.InvariantCulture));

    public async Task InitializeAsync() => Server = await Azurite.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
