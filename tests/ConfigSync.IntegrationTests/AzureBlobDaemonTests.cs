using System.Text;
using System.Text.Json;
using ConfigSync.IntegrationTests.Support;
using ConfigSync.Sources.AzureBlob.Tests.TestSupport;

namespace ConfigSync.IntegrationTests;

/// <summary>
/// The daemon process with an azureblob source and Microsoft Entra tokens: Azurite serves https with
/// OAuth on (it checks the token's issuer, audience and lifetime), the daemon trusts the test
/// certificate through SSL_CERT_FILE, and a local stand-in plays the token service: Entra ID for AKS
/// workload identity (which must receive the projected federated token as the client assertion),
/// and the managed identity endpoint (which must receive the identity header).
/// </summary>
public sealed class AzureBlobDaemonTests : IAsyncLifetime
{
    private const string Tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    private const string ClientId = "0d6b6a4e-3c2e-4b8a-9d3f-1f6c3a1e2b7c";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);
    private readonly Scenario _scenario = new();
    private TestCertificate _certificate = null!;
    private Azurite _azurite = null!;

    public async Task InitializeAsync()
    {
        _certificate = new TestCertificate(_scenario.Temp.Combine("tls"));
        _azurite = await Azurite.StartAsync(_certificate.CertificateFile, _certificate.KeyFile);
        var container = await _azurite.CreateContainerAsync("config");
        await container.PutAsync("prod/app.yaml", "port: 8080");
    }

    public async Task DisposeAsync()
    {
        await _azurite.DisposeAsync();
        _certificate.Dispose();
        _scenario.Dispose();
    }

    [Theory]
    // The authority here is a local stand-in, so instance discovery (at login.microsoftonline.com) is off.
    [InlineData("{ workloadIdentity: true, disableInstanceDiscovery: true }")]
    [InlineData("{ defaultCredential: true, disableInstanceDiscovery: true }")] // DefaultAzureCredential finds the workload identity the webhook set up
    public async Task WorkloadIdentity_ExchangesTheFederatedToken_AndSyncs(string auth)
    {
        var federated = _scenario.Temp.Write("azure/tokens/azure-identity-token", Captured.Secret("projected-federated-jwt"));
        CredentialEndpoint? entra = null;
        entra = await CredentialEndpoint.StartAsync(request => request.PathAndQuery switch
        {
            var p when p.Contains("/discovery/instance", StringComparison.Ordinal) => ("application/json", $$"""
                {"tenant_discovery_endpoint":"{{entra!.Url}}/{{Tenant}}/v2.0/.well-known/openid-configuration","api-version":"1.1",
                 "metadata":[{"preferred_network":"127.0.0.1:{{entra.Port}}","preferred_cache":"127.0.0.1:{{entra.Port}}","aliases":["127.0.0.1:{{entra.Port}}"]}]}
                """),
            var p when p.Contains("openid-configuration", StringComparison.Ordinal) => ("application/json", $$"""
                {"token_endpoint":"{{entra!.Url}}/{{Tenant}}/oauth2/v2.0/token","authorization_endpoint":"{{entra.Url}}/{{Tenant}}/oauth2/v2.0/authorize","issuer":"{{entra.Url}}/{{Tenant}}/v2.0"}
                """),
            _ => ("application/json", $$"""{"token_type":"Bearer","expires_in":3600,"ext_expires_in":3600,"access_token":"{{StorageToken()}}"}"""),
        }, _certificate.Certificate);
        await using (entra)
        {
            await RunUntilReadyAsync(auth, new Dictionary<string, string>
            {
                // What the AKS workload identity webhook injects.
                ["AZURE_TENANT_ID"] = Tenant,
                ["AZURE_CLIENT_ID"] = ClientId,
                ["AZURE_FEDERATED_TOKEN_FILE"] = federated,
                ["AZURE_AUTHORITY_HOST"] = entra.Url + "/",
            });

            var exchange = Assert.Single(entra.Requests, r => r.Method == "POST" && r.PathAndQuery.EndsWith("/oauth2/v2.0/token", StringComparison.Ordinal));
            Assert.Contains("client_assertion=projected-federated-jwt", exchange.Body, StringComparison.Ordinal);
            Assert.Contains($"client_id={ClientId}", exchange.Body, StringComparison.Ordinal);
            Assert.Contains("scope=https%3A%2F%2Fstorage.azure.com%2F.default", exchange.Body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ManagedIdentity_AsksTheIdentityEndpoint_AndSyncs()
    {
        await using var identity = await CredentialEndpoint.StartAsync(_ => ("application/json", $$"""
            {"access_token":"{{StorageToken()}}","expires_on":"{{DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds()}}","resource":"https://storage.azure.com/","token_type":"Bearer"}
            """));

        await RunUntilReadyAsync("{ managedIdentity: true }", new Dictionary<string, string>
        {
            // The managed identity endpoint as App Service and Container Apps expose it.
            ["IDENTITY_ENDPOINT"] = identity.Url + "/msi/token",
            ["IDENTITY_HEADER"] = Captured.Secret("identity-header-value"),
        });

        var asked = Assert.Single(identity.Requests);
        Assert.Equal("identity-header-value", asked.Headers.GetValueOrDefault("X-IDENTITY-HEADER"));
        Assert.Contains("resource=https://storage.azure.com", Uri.UnescapeDataString(asked.PathAndQuery), StringComparison.Ordinal);
    }

    /// <summary>A token Azurite accepts (issuer, audience, lifetime); Azurite does not check the signature.</summary>
    private static string StorageToken()
    {
        static string Part(string json) => Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var claims = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["aud"] = "https://storage.azure.com",
            ["iss"] = $"https://sts.windows.net/{Tenant}/",
            ["iat"] = now - 60,
            ["nbf"] = now - 60,
            ["exp"] = now + 3600,
            ["oid"] = ClientId,
            ["tid"] = Tenant,
        });
        // The claims part is unique per token (its times): a token in a log would show as it.
        return $"{Part("""{"alg":"RS256","typ":"JWT"}""")}.{Captured.Secret(Part(claims))}.{Part("not-checked")}";
    }

    private async Task RunUntilReadyAsync(string auth, Dictionary<string, string> environment)
    {
        _scenario.WriteSourceConfig($"""
            type: azureblob
            containerUrl: {_azurite.AccountUrl}/config
            prefix: prod
            auth: {auth}
            """);
        environment["SSL_CERT_FILE"] = _certificate.CertificateFile;
        await using var daemon = Daemon.Start(["run", "--config", _scenario.ConfigFile], environment);
        using var http = new DaemonHttp(_scenario.Port);
        await http.WaitUntilReadyAsync(daemon, Patience);

        Assert.DoesNotContain("Health check", daemon.Output, StringComparison.Ordinal); // probes before the first sync are not errors

        Assert.Equal("port: 8080", File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")));
    }
}
