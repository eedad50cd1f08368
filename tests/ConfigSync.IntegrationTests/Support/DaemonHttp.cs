using System.Net;
using System.Text.Json;

namespace ConfigSync.IntegrationTests.Support;

/// <summary>Talks to a running daemon's HTTP surface on 127.0.0.1.</summary>
public sealed class DaemonHttp(int port) : IDisposable
{
    private readonly HttpClient _client = new() { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(15) };

    public int Port => port;

    public async Task<HttpStatusCode?> StatusOfAsync(string path)
    {
        try
        {
            using var response = await _client.GetAsync(path);
            return response.StatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null; // not listening yet, or an answer slower than the client's timeout (a loaded machine): asked again
        }
    }

    public async Task<HttpStatusCode> PostAsync(string path)
    {
        using var response = await _client.PostAsync(path, null);
        return response.StatusCode;
    }

    public async Task<string> GetStringAsync(string path)
    {
        var text = await _client.GetStringAsync(path);
        Captured.Record(text);
        return text;
    }

    public async Task<JsonElement> SyncStatusAsync(string name)
    {
        using var document = JsonDocument.Parse(await GetStringAsync("/status"));
        return document.RootElement.GetProperty("syncs").GetProperty(name).Clone();
    }

    /// <summary>Waits until the daemon answers on <c>/healthz</c>; returns the first <c>/readyz</c> status seen then.</summary>
    public async Task<HttpStatusCode> WaitUntilUpAsync(Daemon daemon, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (daemon.HasExited)
            {
                throw new InvalidOperationException($"configsync exited with {daemon.ExitCode}:\n{daemon.Output}");
            }

            if (await StatusOfAsync("/healthz") == HttpStatusCode.OK)
            {
                return (await StatusOfAsync("/readyz"))!.Value;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"configsync did not answer within {timeout}:\n{daemon.Output}");
    }

    /// <summary>Waits until <c>/readyz</c> is 200, failing with the daemon's output if it exits or the time runs out.</summary>
    public async Task WaitUntilReadyAsync(Daemon daemon, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        await WaitUntilUpAsync(daemon, timeout);
        while (await StatusOfAsync("/readyz") != HttpStatusCode.OK)
        {
            if (daemon.HasExited || DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"configsync never became ready within {timeout}:\n{daemon.Output}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>POST /sync/{name}, then waits until that attempt has ended (its lastAttempt moved past the trigger's); returns the sync's status then.</summary>
    public async Task<JsonElement> SyncAndWaitAsync(string name, TimeSpan timeout)
    {
        var before = (await SyncStatusAsync(name)).GetProperty("lastAttempt").GetString();
        Assert.Equal(HttpStatusCode.Accepted, await PostAsync($"/sync/{name}"));
        JsonElement status = default;
        await Eventually(async () =>
        {
            status = await SyncStatusAsync(name);
            return status.GetProperty("lastAttempt").GetString() != before && !status.GetProperty("syncing").GetBoolean();
        }, timeout, () => "the triggered sync did not finish");
        return status;
    }

    public static async Task Eventually(Func<Task<bool>> condition, TimeSpan timeout, Func<string> describe, int pollMilliseconds = 50)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"condition not met within {timeout}: {describe()}");
            }

            await Task.Delay(pollMilliseconds);
        }
    }

    public void Dispose() => _client.Dispose();
}
