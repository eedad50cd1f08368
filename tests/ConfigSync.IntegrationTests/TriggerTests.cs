using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using ConfigSync.IntegrationTests.Support;

namespace ConfigSync.IntegrationTests;

/// <summary>
/// POST /sync/{name} over a real non-loopback address of this machine: the daemon listens on all
/// addresses and the client connects from the machine's own network address, so the daemon sees a
/// remote caller. Without the bearer token it is refused; with it, accepted.
/// </summary>
public sealed class TriggerTests : IDisposable
{
    private readonly Scenario _scenario = new();

    public void Dispose() => _scenario.Dispose();

    [Fact]
    public async Task RemoteTrigger_WithoutTheToken_IsRefused_AndWithIt_IsAccepted()
    {
        var address = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        Assert.True(address is not null, "this test needs a non-loopback IPv4 address on the machine");
        _scenario.Temp.Write("source/app.yaml", "v: 1");
        var token = _scenario.Temp.Write("trigger-token", Captured.Secret("trigger-bearer-value") + "\n");
        var config = _scenario.WriteConfig(interval: "1h");
        File.WriteAllText(config, File.ReadAllText(config).Replace(
            $"listen: \"127.0.0.1:{_scenario.Port}\"", $"listen: \"0.0.0.0:{_scenario.Port}\"\n  triggerTokenFile: {token}", StringComparison.Ordinal));
        await using var daemon = Daemon.Start(["run", "--config", config]);
        using var local = new DaemonHttp(_scenario.Port);
        await local.WaitUntilReadyAsync(daemon, TimeSpan.FromSeconds(30));

        using var remote = new HttpClient { BaseAddress = new Uri($"http://{address}:{_scenario.Port}") };
        using var missing = await remote.PostAsync("/sync/app", null);
        using var wrong = await remote.SendAsync(Post("Bearer not-the-token"));
        using var right = await remote.SendAsync(Post("Bearer trigger-bearer-value"));
        using var unknownName = await remote.PostAsync("/sync/no-such-sync", null);
        using var unknownWithToken = await remote.SendAsync(Post("Bearer trigger-bearer-value", "/sync/no-such-sync"));

        using var webhookUnknown = await remote.PostAsync("/webhook/no-such-sync", new StringContent("{}"));
        using var webhookWithout = await remote.PostAsync("/webhook/app", new StringContent("{}"));
        var webhookLocal = await local.PostAsync("/webhook/no-such-sync");

        // Without the token a remote caller cannot tell a name that exists from one that does not.
        Assert.Equal(HttpStatusCode.Unauthorized, unknownName.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, webhookUnknown.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, webhookWithout.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, webhookLocal);
        Assert.Equal(HttpStatusCode.NotFound, unknownWithToken.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, right.StatusCode);
        var metrics = await local.GetStringAsync("/metrics");
        Assert.Contains("configsync_trigger_total{sync=\"app\",result=\"unauthorized\"} 2", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("no-such-sync", metrics, StringComparison.Ordinal);
    }

    private static HttpRequestMessage Post(string authorization, string path = "/sync/app")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path);
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
        return request;
    }
}
