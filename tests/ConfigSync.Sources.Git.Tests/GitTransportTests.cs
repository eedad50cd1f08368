using ConfigSync.Sources.Git.Tests.TestSupport;

namespace ConfigSync.Sources.Git.Tests;

/// <summary>The git source over real servers on 127.0.0.1: git daemon, smart HTTP with basic auth (lighttpd + git-http-backend), sshd.</summary>
public sealed class GitTransportTests : IDisposable
{
    private static readonly ISourceFactory Factory = new GitSourceFactory();
    private readonly TempFolder _temp = new();
    private readonly GitRepo _repo;

    public GitTransportTests()
    {
        _repo = new GitRepo(_temp.Path);
        _repo.Write("app.yaml", "port: 1");
        _repo.Write("deep/nested/db.yaml", "pool: 5");
        _repo.Commit("first");
    }

    private string Repos => _temp.Combine("repos");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task GitDaemon_SyncsAndFollowsNewCommits_DepthFallsBackWithOneWarning()
    {
        await using var daemon = await GitDaemon.StartAsync(Repos);
        await using var git = SourceHarness.Create(Factory, _temp.Combine("volume"), new() { ["url"] = daemon.Url("config"), ["depth"] = "1" });

        Assert.Equal(_repo.Head, (await git.SyncAsync())!.Revision);
        _repo.Write("app.yaml", "port: 2");
        var second = _repo.Commit("second");
        Assert.Equal(second, (await git.SyncAsync())!.Revision);

        Assert.Equal("port: 2", git.Read("app.yaml"));
        Assert.Single(git.LogLines, l => l.Contains("depth is not supported over git", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GitDaemon_ConnectionsCountedByTheServer_EveryPollIsOne_AsGitFetch()
    {
        await using var daemon = await GitDaemon.StartAsync(Repos);
        await using var git = SourceHarness.Create(Factory, _temp.Combine("volume"), new() { ["url"] = daemon.Url("config") });
        await git.SyncAsync();
        var afterFirst = await SettledAsync(daemon, 0);

        Assert.Null(await git.SyncAsync());
        var afterNoChange = await SettledAsync(daemon, afterFirst);
        _repo.Write("app.yaml", "port: 2");
        _repo.Commit("second");
        Assert.NotNull(await git.SyncAsync());
        var afterChange = await SettledAsync(daemon, afterNoChange);

        Assert.Equal(1, afterFirst);
        Assert.Equal(1, afterNoChange - afterFirst);
        Assert.Equal(1, afterChange - afterNoChange);
    }

    /// <summary>
    /// git daemon logs each connection from its own child process, read here asynchronously: waits until the count is
    /// past <paramref name="before"/> (a fetch was made, its line may come late), then until it stops moving.
    /// </summary>
    private static async Task<int> SettledAsync(GitDaemon daemon, int before)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (daemon.UploadPackRequests <= before && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        var count = daemon.UploadPackRequests;
        for (var quiet = 0; quiet < 4; quiet++)
        {
            await Task.Delay(100);
            if (daemon.UploadPackRequests != count)
            {
                count = daemon.UploadPackRequests;
                quiet = -1;
            }
        }

        return count;
    }

    [Fact]
    public async Task SmartHttp_ASubmoduleOnTheSameServer_GetsTheCredentials_OneElsewhereNeverDoes()
    {
        var library = new GitRepo(_temp.Path, "library");
        library.Write("lib.yaml", "shared: true");
        library.Commit("lib");
        await using var server = await SmartHttpServer.StartAsync(Repos, _temp.Combine("http"));
        using var trap = new CredentialTrap();
        var password = _temp.Write("secret/password", SmartHttpServer.Password + "\n");
        _repo.Git("-c", "protocol.file.allow=always", "submodule", "add", "-q", library.Bare, "vendor/lib");
        _repo.Git("config", "-f", ".gitmodules", "submodule.vendor/lib.url", server.Url("library")); // behind the same basic auth
        _repo.Git("add", ".gitmodules");
        _repo.Commit("with submodule");
        await using var git = SourceHarness.Create(Factory, _temp.Combine("volume"), new()
        {
            ["url"] = server.Url("config"),
            ["auth:username"] = SmartHttpServer.User,
            ["auth:passwordFile"] = password,
            ["submodules"] = "recursive",
        });

        await git.SyncAsync();
        Assert.Equal("shared: true", git.Read("vendor/lib/lib.yaml"));

        // A commit points the submodule at another host that asks for credentials: the sync fails, nothing is sent.
        var hostiles = new[]
        {
            trap.Url,
            $"http://localhost:{server.Port}/git/library.git", // the same server by another name
            $"http://127.0.0.1:{server.Port}%2f@127.0.0.1:{trap.Port}/git/library.git", // the trap, shown to the callback as http://127.0.0.1:{server}/@...
            $"http://127.0.0.1:{server.Port}%23@127.0.0.1:{trap.Port}/git/library.git",
        };
        foreach (var hostile in hostiles)
        {
            _repo.Git("config", "-f", ".gitmodules", "submodule.vendor/lib.url", hostile);
            _repo.Git("add", ".gitmodules");
            _repo.Commit("moved to " + hostile);
            var error = await Assert.ThrowsAnyAsync<Exception>(() => git.SyncAsync());
            Assert.DoesNotContain(SmartHttpServer.Password, error.ToString(), StringComparison.Ordinal);
            Assert.Equal("shared: true", git.Read("vendor/lib/lib.yaml")); // the live tree stays
        }

        Assert.True(trap.Asked.Count >= 3, $"the trap was asked {trap.Asked.Count} times"); // each of its URLs reached it
        // libgit2 may try a URL's own user with an empty password; the source's password never arrives.
        Assert.All(trap.Authorizations, a => Assert.DoesNotContain(SmartHttpServer.Password, Decoded(a), StringComparison.Ordinal));
    }

    private static string Decoded(string authorization) =>
        authorization.StartsWith("Basic ", StringComparison.Ordinal) ? System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(authorization[6..])) : authorization;

    /// <summary>A host that asks for basic credentials (401) and records any it is sent.</summary>
    private sealed class CredentialTrap : IDisposable
    {
        private readonly System.Net.HttpListener _listener = new();
        private readonly Task _loop;

        public CredentialTrap()
        {
            var port = Port = ConfigSync.Tests.TestSupport.AppListener.FreePort();
            Url = $"http://127.0.0.1:{port}/git/library.git";
            _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            _listener.Start();
            _loop = Task.Run(async () =>
            {
                while (_listener.IsListening)
                {
                    System.Net.HttpListenerContext context;
                    try
                    {
                        context = await _listener.GetContextAsync();
                    }
                    catch (Exception e) when (e is System.Net.HttpListenerException or ObjectDisposedException or InvalidOperationException)
                    {
                        return;
                    }

                    Asked.Enqueue(context.Request.RawUrl ?? string.Empty);
                    if (context.Request.Headers["Authorization"] is { } authorization)
                    {
                        Authorizations.Enqueue(authorization);
                    }

                    context.Response.StatusCode = 401;
                    context.Response.AddHeader("WWW-Authenticate", "Basic realm=\"git\"");
                    context.Response.Close();
                }
            });
        }

        public string Url { get; }

        public int Port { get; }

        public System.Collections.Concurrent.ConcurrentQueue<string> Asked { get; } = new();

        public System.Collections.Concurrent.ConcurrentQueue<string> Authorizations { get; } = new();

        public void Dispose()
        {
            _listener.Close();
            _loop.Wait(TimeSpan.FromSeconds(2));
        }
    }

    [Fact]
    public async Task SmartHttp_RightPasswordFromFile_Syncs_ShallowWithDepth()
    {
        await using var server = await SmartHttpServer.StartAsync(Repos, _temp.Combine("http"));
        var password = _temp.Write("secret/password", SmartHttpServer.Password + "\n");
        await using var git = SourceHarness.Create(Factory, _temp.Combine("volume"), new()
        {
            ["url"] = server.Url("config"),
            ["depth"] = "1",
            ["auth:username"] = SmartHttpServer.User,
            ["auth:passwordFile"] = password,
        });

        var manifest = await git.SyncAsync();
        Assert.Equal(_repo.Head, manifest!.Revision);
        Assert.Equal("pool: 5", git.Read("deep/nested/db.yaml"));

        _repo.Write("app.yaml", "port: 2");
        var second = _repo.Commit("second");
        Assert.Equal(second, (await git.SyncAsync())!.Revision);
        Assert.Equal("port: 2", git.Read("app.yaml"));
        Assert.Equal("pool: 5", git.Read("deep/nested/db.yaml"));

        using var cache = new LibGit2Sharp.Repository(Path.Combine(git.Cache, "repo.git"));
        Assert.True(cache.Info.IsShallow);
        Assert.DoesNotContain(git.LogLines, l => l.Contains("shallow clone failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SmartHttp_WrongPassword_FailsWithOneNamedError_AndRotatedSecretIsPickedUp()
    {
        await using var server = await SmartHttpServer.StartAsync(Repos, _temp.Combine("http"));
        var password = _temp.Write("secret/password", Captured.Secret("wrong-password"));
        await using var git = SourceHarness.Create(Factory, _temp.Combine("volume"), new()
        {
            ["url"] = server.Url("config"),
            ["auth:username"] = SmartHttpServer.User,
            ["auth:passwordFile"] = password,
        });

        var error = await Assert.ThrowsAsync<SourceException>(() => git.SyncAsync());
        Assert.Contains($"authentication failed for {server.Url("config")}", error.Message);
        Assert.DoesNotContain("wrong-password", error.Message);

        File.WriteAllText(password, SmartHttpServer.Password);
        Assert.Equal(_repo.Head, (await git.SyncAsync())!.Revision);
    }

    [Fact]
    public async Task SmartHttp_PasswordFromEnvironment_Syncs()
    {
        await using var server = await SmartHttpServer.StartAsync(Repos, _temp.Combine("http"));
        var variable = "CS_TEST_GIT_TOKEN_" + Guid.NewGuid().ToString("N")[..8];
        Environment.SetEnvironmentVariable(variable, SmartHttpServer.Password);
        try
        {
            await using var git = SourceHarness.Create(Factory, _temp.Combine("volume"), new()
            {
                ["url"] = server.Url("config"),
                ["auth:username"] = SmartHttpServer.User,
                ["auth:passwordEnv"] = variable,
            });

            Assert.Equal(_repo.Head, (await git.SyncAsync())!.Revision);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public async Task Ssh_RightKeyAndKnownHost_Syncs()
    {
        await using var sshd = await SshServer.StartAsync(_temp.Combine("ssh"));
        await using var git = SourceHarness.Create(Factory, _temp.Combine("volume"), new()
        {
            ["url"] = sshd.Url(_repo.Bare),
            ["auth:sshKeyFile"] = sshd.ClientKey,
            ["auth:knownHostsFile"] = sshd.KnownHosts,
        });

        Assert.Equal(_repo.Head, (await git.SyncAsync())!.Revision);
        Assert.Equal("port: 1", git.Read("app.yaml"));
    }

    [Fact]
    public async Task Ssh_UnknownHostKey_IsRefusedWithAClearError()
    {
        await using var sshd = await SshServer.StartAsync(_temp.Combine("ssh"));
        await using var git = SourceHarness.Create(Factory, _temp.Combine("volume"), new()
        {
            ["url"] = sshd.Url(_repo.Bare),
            ["auth:sshKeyFile"] = sshd.ClientKey,
            ["auth:knownHostsFile"] = sshd.WrongKnownHosts,
        });

        var error = await Assert.ThrowsAsync<SourceException>(() => git.SyncAsync());

        Assert.True(error.Message.Contains("is not in auth.knownHostsFile", StringComparison.Ordinal), error.Message);
        Assert.False(Path.Exists(git.Live));
    }

    [Fact]
    public async Task ServerDownAfterFirstSync_FailsByName_AndTheLiveTreeStays()
    {
        var daemon = await GitDaemon.StartAsync(Repos);
        await using var git = SourceHarness.Create(Factory, _temp.Combine("volume"), new() { ["url"] = daemon.Url("config"), ["connectTimeout"] = "2s" });
        await git.SyncAsync();

        await daemon.DisposeAsync();
        var error = await Assert.ThrowsAsync<SourceException>(() => git.SyncAsync());

        Assert.Contains(daemon.Url("config"), error.Message);
        Assert.Equal("port: 1", git.Read("app.yaml"));
    }
}
