using ConfigSync.IntegrationTests.Support;

namespace ConfigSync.IntegrationTests;

/// <summary>Pre-publish checks and reload verification in the daemon process (the published binary), seen through /status, /metrics and the volume.</summary>
public sealed class ChecksTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly Scenario _scenario = new();
    private readonly AppListener _app = new();

    public void Dispose()
    {
        _app.Dispose();
        _scenario.Dispose();
    }

    [Fact]
    public async Task Run_SchemaViolation_IsRejectedInStatusAndMetrics_NotSignalled_ThenAFixPublishes()
    {
        _scenario.Temp.Write("source/schema.json", """{"type":"object","required":["port"],"properties":{"port":{"type":"integer"}}}""");
        _scenario.Temp.Write("source/app.yaml", "port: 8080\n");
        _scenario.WriteConfig(interval: "200ms", signalUrl: _app.Url.ToString(), extraSync: """
                validate:
                  - type: yaml
                  - type: jsonSchema
                    files: [app.yaml]
                    schema: schema.json
            """);
        await using var daemon = Daemon.Start(["run", "--config", _scenario.ConfigFile]);
        using var http = new DaemonHttp(_scenario.Port);
        await http.WaitUntilReadyAsync(daemon, Patience);
        var good = (await http.SyncStatusAsync("app")).GetProperty("revision").GetString();
        await _app.WaitForAsync(r => r.Revision == good, Patience);

        _scenario.Temp.Write("source/app.yaml", "port: eighty\n");
        await DaemonHttp.Eventually(async () => (await http.SyncStatusAsync("app")).TryGetProperty("rejected", out var r) && r.ValueKind == System.Text.Json.JsonValueKind.Object, Patience, () => "no rejection in /status");
        var status = await http.SyncStatusAsync("app");
        var rejected = status.GetProperty("rejected");
        var metrics = await http.GetStringAsync("/metrics");
        var signalsWhileRejected = _app.Requests.Count;

        Assert.Equal(good, status.GetProperty("revision").GetString());
        Assert.Equal("jsonSchema", rejected.GetProperty("check").GetString());
        Assert.StartsWith("app.yaml: does not match the schema: /port:", rejected.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal("port: 8080\n", File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")));
        Assert.Contains($"configsync_rejected_revision_info{{sync=\"app\",revision=\"{rejected.GetProperty("revision").GetString()}\",check=\"jsonSchema\"}} 1", metrics, StringComparison.Ordinal);
        Assert.Matches("configsync_rejected_total\\{sync=\"app\",check=\"jsonSchema\"\\} [1-9]", metrics);
        Assert.Equal(1, signalsWhileRejected);

        _scenario.Temp.Write("source/app.yaml", "port: 9090\n");
        await DaemonHttp.Eventually(async () => File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")) == "port: 9090\n", Patience, () => "the fix was not published");
        await DaemonHttp.Eventually(async () => !(await http.SyncStatusAsync("app")).TryGetProperty("rejected", out var r) || r.ValueKind == System.Text.Json.JsonValueKind.Null, Patience, () => "the rejection was not cleared");
        Assert.Contains("rejected by the jsonSchema check", daemon.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_AppDoesNotApplyTheRevision_VerificationFails_AndTheLinkRollsBack()
    {
        var stuckAt = (string?)null;
        _app.BodyFor = path => path == "/version" ? "{\"revision\":\"" + (stuckAt ??= _app.Requests.LastOrDefault(r => r.Path == "/-/reload")?.Revision ?? "none") + "\"}" : null;
        _scenario.Temp.Write("source/app.yaml", "v: 1\n");
        _scenario.WriteConfig(interval: "200ms", extraSync: $"""
                signal:
                  url: {_app.Url}
                  verify:
                    url: http://127.0.0.1:{_app.Port}/version
                    field: revision
                    interval: 100ms
                    timeout: 8s
                    rollback: true
            """);
        await using var daemon = Daemon.Start(["run", "--config", _scenario.ConfigFile]);
        using var http = new DaemonHttp(_scenario.Port);
        await http.WaitUntilReadyAsync(daemon, Patience);
        await DaemonHttp.Eventually(async () => ReloadState(await http.SyncStatusAsync("app")) == "verified", Patience, () => "the first revision was not verified");
        var good = (await http.SyncStatusAsync("app")).GetProperty("revision").GetString();

        _scenario.Temp.Write("source/app.yaml", "v: 2\n");
        // The rollback leaves a rejection that stays until the source moves on. The reload state says "rolledBack" only
        // until the restored revision is verified again (a 100 ms verify poll), too short a window to wait on.
        await DaemonHttp.Eventually(async () => RejectedBy(await http.SyncStatusAsync("app")) == "reload", Patience, () => "no rollback");
        var status = await http.SyncStatusAsync("app");
        var metrics = await http.GetStringAsync("/metrics");
        var reload = status.GetProperty("reload");

        Assert.Equal(good, status.GetProperty("revision").GetString());
        Assert.Equal("v: 1\n", File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")));
        Assert.NotEqual(good, status.GetProperty("rejected").GetProperty("revision").GetString());
        Assert.True(
            (reload.GetProperty("state").GetString() == "rolledBack" && reload.GetProperty("revision").GetString() != good)
            || (reload.GetProperty("state").GetString() == "verified" && reload.GetProperty("revision").GetString() == good),
            $"the reload state after a rollback: {reload}");
        await DaemonHttp.Eventually(() => Task.FromResult(daemon.Output.Contains("rolled back from revision", StringComparison.Ordinal)), Patience, () => daemon.Output);
        // The first revision was verified; the restored one may be verified again by the time /metrics is read.
        Assert.Matches(@"configsync_reload_verified_total\{sync=""app""\} [12]\n", metrics);
        Assert.Contains("configsync_reload_failed_total{sync=\"app\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("configsync_rollback_total{sync=\"app\"} 1", metrics, StringComparison.Ordinal);
    }

    /// <summary>The check that rejected a revision in a sync's status, or null when none did.</summary>
    private static string? RejectedBy(System.Text.Json.JsonElement status) =>
        status.TryGetProperty("rejected", out var rejected) && rejected.ValueKind == System.Text.Json.JsonValueKind.Object
            ? rejected.GetProperty("check").GetString()
            : null;

    /// <summary>The reload state in a sync's status, or null while <c>reload</c> is still null (no signal sent yet).</summary>
    private static string? ReloadState(System.Text.Json.JsonElement status) =>
        status.TryGetProperty("reload", out var reload) && reload.ValueKind == System.Text.Json.JsonValueKind.Object
            ? reload.GetProperty("state").GetString()
            : null;
}
