using System.Diagnostics;
using System.Net;
using System.Text.Json;
using ConfigSync.IntegrationTests.Support;
using ConfigSync.Sources.Git.Tests.TestSupport;

namespace ConfigSync.IntegrationTests;

/// <summary>The daemon process with a git source: a commit is published and signalled with its SHA.</summary>
public sealed class GitDaemonTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly Scenario _scenario = new();
    private readonly AppListener _app = new();
    private readonly WorkRepo _repo;

    public GitDaemonTests()
    {
        _repo = new WorkRepo(_scenario.Temp.Path);
    }

    public void Dispose()
    {
        _app.Dispose();
        _scenario.Dispose();
    }

    [Fact]
    public async Task Run_GitCommits_ArePublishedAndSignalledWithTheirSha()
    {
        var first = _repo.Commit("conf/app.yaml", "v: 1", "first config");
        _scenario.WriteSourceConfig(
            $"""
            type: git
            url: {_repo.FileUrl}
            ref: main
            path: conf
            """,
            sync: $"""
            interval: 300ms
            signal:
              url: {_app.Url}
            """);
        await using var daemon = Daemon.Start(["run", "--config", _scenario.ConfigFile]);
        using var http = new DaemonHttp(_scenario.Port);
        await http.WaitUntilUpAsync(daemon, Patience);

        var signalled = await _app.WaitForAsync(r => r.Revision == first && r.Status == 200, Patience);
        Assert.Equal(HttpStatusCode.OK, await http.StatusOfAsync("/readyz"));
        Assert.Equal("v: 1", File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")));
        var status = await http.SyncStatusAsync("app");
        Assert.Equal(first, status.GetProperty("revision").GetString());
        Assert.Equal("first config", status.GetProperty("details").GetProperty("subject").GetString());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", status.GetProperty("details").GetProperty("authorTime").GetString()!);

        var second = _repo.Commit("conf/app.yaml", "v: 2", "second config");

        var next = await _app.WaitForAsync(r => r.Revision == second, Patience);
        using var body = JsonDocument.Parse(next.Body);
        Assert.Equal(first, body.RootElement.GetProperty("previousRevision").GetString());
        Assert.Equal(["app.yaml"], body.RootElement.GetProperty("changed").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("v: 2", File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")));
        Assert.Equal(first, JsonDocument.Parse(signalled.Body).RootElement.GetProperty("revision").GetString());
    }

    /// <summary>
    /// The published binary (NativeAOT) over the transports whose credentials libgit2 asks for through
    /// callbacks into managed code: smart HTTP with basic auth, and ssh with a key and a known host.
    /// </summary>
    [Theory]
    [InlineData("http")]
    [InlineData("ssh")]
    public async Task Once_OverAuthenticatedTransports_PublishesTheCommit(string transport)
    {
        var head = _repo.Commit("conf/app.yaml", "v: 1", "first config");
        await using IAsyncDisposable server = transport == "http"
            ? await SmartHttpServer.StartAsync(_scenario.Temp.Path, _scenario.Temp.Combine("http"))
            : await SshServer.StartAsync(_scenario.Temp.Combine("ssh"));
        var source = server switch
        {
            SmartHttpServer http => $"""
                url: {http.Url("repo")}
                auth:
                  username: {SmartHttpServer.User}
                  passwordFile: {_scenario.Temp.Write("secret/password", SmartHttpServer.Password + "\n")}
                """,
            SshServer ssh => $"""
                url: {ssh.Url(_repo.Bare)}
                auth:
                  sshKeyFile: {ssh.ClientKey}
                  knownHostsFile: {ssh.KnownHosts}
                """,
            _ => throw new InvalidOperationException(transport),
        };
        _scenario.WriteSourceConfig("type: git\nref: main\npath: conf\n" + source);

        var (code, output) = await Daemon.RunAsync(["once", "--config", _scenario.ConfigFile, "--no-signal"]);

        Assert.True(code == 0, output);
        Assert.Equal("v: 1", File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")));
        Assert.Contains(head, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_GitSettings_AreCheckedByName()
    {
        File.WriteAllText(_scenario.ConfigFile, """
            syncs:
              - name: app
                source:
                  type: git
                  url: ssh://git@example.com/acme/config.git
                  ref: "main~1"
                  path: ../up
                  submodules: maybe
                  auth: { passwordFile: /p }
                target: { root: /tmp/v }
            """);

        var (code, output) = await Daemon.RunAsync(["validate", "--config", _scenario.ConfigFile]);

        Assert.Equal(2, code);
        Assert.Contains("syncs[0].source.ref: 'main~1' is not a valid branch, tag or commit", output);
        Assert.Contains("syncs[0].source.path: '../up' must be a relative folder", output);
        Assert.Contains("syncs[0].source.submodules: 'maybe' is not one of: off, recursive", output);
        Assert.Contains("syncs[0].source.auth.knownHostsFile: is required for ssh URLs", output);
        Assert.Contains("syncs[0].source.auth.passwordFile: is only used with http(s) URLs", output);
    }
}
