using ConfigSync.IntegrationTests.Support;
using ConfigSync.Sources.S3.Tests.TestSupport;

namespace ConfigSync.IntegrationTests;

/// <summary>
/// The daemon process with an s3 source against s3rver, credentials from the SDK's default chain:
/// environment keys, IRSA web identity (AssumeRoleWithWebIdentity answered by a local stand-in for
/// STS) and EKS Pod Identity (the container-credentials endpoint stood in for locally). s3rver
/// refuses any key id but its own, so a published tree proves the credentials came through the chain.
/// </summary>
public sealed class S3DaemonTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly Scenario _scenario = new();
    private S3rver _s3 = null!;

    public async Task InitializeAsync()
    {
        _s3 = await S3rver.StartAsync(_scenario.Temp.Combine("s3"));
        await _s3.PutAsync("prod/app.yaml", "port: 8080");
    }

    public async Task DisposeAsync()
    {
        await _s3.DisposeAsync();
        _scenario.Dispose();
    }

    [Fact]
    public async Task EnvironmentKeys_FromTheDefaultChain_Sync()
    {
        await RunUntilReadyAsync(new Dictionary<string, string>
        {
            ["AWS_ACCESS_KEY_ID"] = S3rver.KeyId,
            ["AWS_SECRET_ACCESS_KEY"] = S3rver.Secret,
        });

        Assert.Equal("port: 8080", File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")));
    }

    [Fact]
    public async Task SharedProfile_NamedByAwsProfile_Syncs()
    {
        var credentials = _scenario.Temp.Write("aws/credentials", $"""
            [default]
            aws_access_key_id = NOT-THIS-ONE
            aws_secret_access_key = x

            [config-reader]
            aws_access_key_id = {S3rver.KeyId}
            aws_secret_access_key = {S3rver.Secret}
            """);

        await RunUntilReadyAsync(new Dictionary<string, string>
        {
            ["AWS_SHARED_CREDENTIALS_FILE"] = credentials,
            ["AWS_PROFILE"] = "config-reader",
        });

        Assert.Equal("port: 8080", File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")));
    }

    [Fact]
    public async Task IrsaWebIdentity_AssumesTheRoleWithTheProjectedToken_AndSyncs()
    {
        await using var sts = await CredentialEndpoint.StartAsync(_ => ("text/xml", $"""
            <AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
              <AssumeRoleWithWebIdentityResult>
                <Credentials>
                  <AccessKeyId>{S3rver.KeyId}</AccessKeyId>
                  <SecretAccessKey>{S3rver.Secret}</SecretAccessKey>
                  <SessionToken>{Captured.Secret("sts-session-token")}</SessionToken>
                  <Expiration>{DateTime.UtcNow.AddHours(1):yyyy-MM-ddTHH:mm:ssZ}</Expiration>
                </Credentials>
                <SubjectFromWebIdentityToken>system:serviceaccount:apps:config-sync</SubjectFromWebIdentityToken>
                <AssumedRoleUser>
                  <Arn>arn:aws:sts::123456789012:assumed-role/config-reader/configsync</Arn>
                  <AssumedRoleId>AROAEXAMPLE:configsync</AssumedRoleId>
                </AssumedRoleUser>
              </AssumeRoleWithWebIdentityResult>
              <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>
            </AssumeRoleWithWebIdentityResponse>
            """));
        var token = _scenario.Temp.Write("eks/token", Captured.Secret("projected-service-account-jwt"));

        await RunUntilReadyAsync(new Dictionary<string, string>
        {
            ["AWS_WEB_IDENTITY_TOKEN_FILE"] = token,
            ["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/config-reader",
            ["AWS_ROLE_SESSION_NAME"] = "configsync",
            ["AWS_REGION"] = "us-east-1",
            ["AWS_ENDPOINT_URL_STS"] = sts.Url,
        });

        Assert.Equal("port: 8080", File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")));
        var assume = Assert.Single(sts.Requests, r => r.Body.Contains("Action=AssumeRoleWithWebIdentity", StringComparison.Ordinal));
        Assert.Contains("WebIdentityToken=projected-service-account-jwt", assume.Body, StringComparison.Ordinal);
        Assert.Contains("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fconfig-reader", assume.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EksPodIdentity_ReadsTheAgentWithTheTokenFile_AndSyncs()
    {
        await using var agent = await CredentialEndpoint.StartAsync(_ => ("application/json", $$"""
            {"AccessKeyId":"{{S3rver.KeyId}}","SecretAccessKey":"{{S3rver.Secret}}","Token":"{{Captured.Secret("agent-session-token")}}","Expiration":"{{DateTime.UtcNow.AddHours(1):yyyy-MM-ddTHH:mm:ssZ}}"}
            """));
        var token = _scenario.Temp.Write("eks-pod-identity/token", Captured.Secret("pod-identity-token"));

        await RunUntilReadyAsync(new Dictionary<string, string>
        {
            ["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = agent.Url + "/v1/credentials",
            ["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = token,
        });

        Assert.Equal("port: 8080", File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")));
        Assert.Contains(agent.Requests, r => r.PathAndQuery == "/v1/credentials" && r.Authorization == "pod-identity-token");
    }

    private async Task RunUntilReadyAsync(Dictionary<string, string> environment)
    {
        _scenario.WriteSourceConfig($"""
            type: s3
            bucket: {_s3.Bucket}
            prefix: prod
            region: us-east-1
            endpoint: {_s3.Endpoint}
            """);
        // Nothing from the machine running the tests may stand in for the credentials under test.
        environment.TryAdd("AWS_SHARED_CREDENTIALS_FILE", _scenario.Temp.Combine("no-credentials"));
        environment["AWS_CONFIG_FILE"] = _scenario.Temp.Combine("no-config");
        environment["AWS_EC2_METADATA_DISABLED"] = "true";
        environment.TryAdd("AWS_ACCESS_KEY_ID", string.Empty);
        environment.TryAdd("AWS_SECRET_ACCESS_KEY", string.Empty);
        await using var daemon = Daemon.Start(["run", "--config", _scenario.ConfigFile], environment);
        using var http = new DaemonHttp(_scenario.Port);
        await http.WaitUntilReadyAsync(daemon, Patience);
    }
}
