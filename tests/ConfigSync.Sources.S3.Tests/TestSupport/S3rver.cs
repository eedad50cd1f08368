using System.Diagnostics;
using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace ConfigSync.Sources.S3.Tests.TestSupport;

/// <summary>
/// s3rver (npm, pinned in tests/servers) on 127.0.0.1 and a free port: a real S3 protocol server.
/// It needs --openssl-legacy-provider (its continuation tokens use DES); it accepts any secret
/// for its key id S3RVER but refuses unknown key ids.
/// </summary>
public sealed class S3rver : IAsyncDisposable
{
    public const string KeyId = "S3RVER";
    public const string Secret = "S3RVER";
    private readonly Process _process;

    private S3rver(Process process, int port, string bucket)
    {
        _process = process;
        Port = port;
        Bucket = bucket;
        Client = new AmazonS3Client(new BasicAWSCredentials(KeyId, Secret), new AmazonS3Config
        {
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            ServiceURL = Endpoint,
        });
    }

    public int Port { get; }

    public string Bucket { get; }

    public string Endpoint => $"http://127.0.0.1:{Port}";

    public AmazonS3Client Client { get; }

    /// <summary>Starts s3rver on <paramref name="port"/> (a free one by default); objects persist in <paramref name="dataFolder"/>.</summary>
    public static async Task<S3rver> StartAsync(string dataFolder, string bucket = "config", int? port = null)
    {
        Directory.CreateDirectory(dataFolder);
        var listen = port ?? AppListener.FreePort();
        // --openssl-legacy-provider: its continuation tokens use DES; without it listings past one page fail.
        var process = NodeServer.Start(Path.Combine("s3rver", "bin", "s3rver.js"),
            ["-d", dataFolder, "-a", "127.0.0.1", "-p", listen.ToString(System.Globalization.CultureInfo.InvariantCulture), "--silent", "--configure-bucket", bucket],
            new Dictionary<string, string> { ["NODE_OPTIONS"] = "--openssl-legacy-provider" });
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                using var client = new System.Net.Sockets.TcpClient();
                await client.ConnectAsync(System.Net.IPAddress.Loopback, listen);
                break;
            }
            catch (System.Net.Sockets.SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(50);
            }
        }

        var server = new S3rver(process, listen, bucket);
        await server.WaitForBucketAsync();
        return server;
    }

    public Task PutAsync(string key, string content) =>
        Client.PutObjectAsync(new PutObjectRequest
        {
            BucketName = Bucket,
            Key = key,
            ContentBody = content,
            UseChunkEncoding = false,
        });

    public Task DeleteAsync(string key) => Client.DeleteObjectAsync(Bucket, key);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await NodeServer.StopAsync(_process);
    }

    private async Task WaitForBucketAsync()
    {
        for (var i = 0; i < 100; i++)
        {
            try
            {
                await Client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket });
                return;
            }
            catch (AmazonS3Exception) when (i < 99)
            {
                await Task.Delay(50);
            }
        }
    }

    internal static string Text(int i) => new StringBuilder().Append('v').Append(i).ToString();
}
