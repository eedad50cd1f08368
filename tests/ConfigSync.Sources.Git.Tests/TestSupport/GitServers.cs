using System.Diagnostics;

namespace ConfigSync.Sources.Git.Tests.TestSupport;

/// <summary>git daemon on 127.0.0.1, serving every repository under a folder (git://).</summary>
public sealed class GitDaemon : IAsyncDisposable
{
    private readonly Process _process;

    private GitDaemon(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public static async Task<GitDaemon> StartAsync(string reposFolder)
    {
        var port = AppListener.FreePort();
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var process = Shell.Start("/usr/lib/git-core/git-daemon", ["--verbose", "--reuseaddr", "--listen=127.0.0.1", $"--port={port}", $"--base-path={reposFolder}", "--export-all", reposFolder], log.Enqueue);
        await Shell.WaitForPortAsync(port, process, "git daemon");
        return new GitDaemon(process, port) { Log = log };
    }

    /// <summary>What git daemon logged (--verbose): one "Request upload-pack" line per connection that reads.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Log { get; private init; } = new();

    /// <summary>Connections the server answered with upload-pack (a ref listing, or a listing and a fetch).</summary>
    public int UploadPackRequests => Log.Count(l => l.Contains("Request upload-pack", StringComparison.Ordinal));

    public string Url(string name) => $"git://127.0.0.1:{Port}/{name}.git";

    public ValueTask DisposeAsync()
    {
        Shell.Stop(_process);
        return ValueTask.CompletedTask;
    }
}

/// <summary>Smart HTTP: lighttpd running git-http-backend as CGI, behind basic auth.</summary>
public sealed class SmartHttpServer : IAsyncDisposable
{
    private readonly Process _process;

    private SmartHttpServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public const string User = "deploy";
    public const string Password = "correct-horse";

    public int Port { get; }

    public static async Task<SmartHttpServer> StartAsync(string reposFolder, string workFolder, string user = User, string password = Password)
    {
        var port = AppListener.FreePort();
        var docroot = Path.Combine(workFolder, "docroot");
        Directory.CreateDirectory(docroot);
        var users = Path.Combine(workFolder, "users");
        File.WriteAllText(users, $"{user}:{Captured.Secret(password)}\n");
        var config = Path.Combine(workFolder, "lighttpd.conf");
        File.WriteAllText(config, $$"""
            server.modules = ( "mod_auth", "mod_authn_file", "mod_alias", "mod_setenv", "mod_cgi" )
            server.bind = "127.0.0.1"
            server.port = {{port}}
            server.document-root = "{{docroot}}"
            server.pid-file = "{{Path.Combine(workFolder, "lighttpd.pid")}}"
            server.errorlog = "{{Path.Combine(workFolder, "lighttpd.err")}}"
            $HTTP["url"] =~ "^/git/" {
              alias.url = ( "/git/" => "/usr/lib/git-core/git-http-backend/" )
              cgi.assign = ( "" => "" )
              setenv.add-environment = ( "GIT_PROJECT_ROOT" => "{{reposFolder}}", "GIT_HTTP_EXPORT_ALL" => "1" )
              auth.backend = "plain"
              auth.backend.plain.userfile = "{{users}}"
              auth.require = ( "" => ( "method" => "basic", "realm" => "git", "require" => "valid-user" ) )
            }
            """);
        var process = Shell.Start("/usr/sbin/lighttpd", ["-D", "-f", config]);
        await Shell.WaitForPortAsync(port, process, "lighttpd");
        return new SmartHttpServer(process, port);
    }

    public string Url(string name) => $"http://127.0.0.1:{Port}/git/{name}.git";

    public ValueTask DisposeAsync()
    {
        Shell.Stop(_process);
        return ValueTask.CompletedTask;
    }
}

/// <summary>sshd with key-only login for root, and the client key and known_hosts files to reach it.</summary>
public sealed class SshServer : IAsyncDisposable
{
    private readonly Process _process;

    private SshServer(Process process, int port, string folder)
    {
        _process = process;
        Port = port;
        ClientKey = Path.Combine(folder, "client_key");
        KnownHosts = Path.Combine(folder, "known_hosts");
        WrongKnownHosts = Path.Combine(folder, "wrong_known_hosts");
    }

    public int Port { get; }

    public string ClientKey { get; }

    public string KnownHosts { get; }

    public string WrongKnownHosts { get; }

    public static async Task<SshServer> StartAsync(string folder)
    {
        Directory.CreateDirectory(folder);
        Directory.CreateDirectory("/run/sshd");
        var port = AppListener.FreePort();
        var hostKey = Path.Combine(folder, "host_key");
        Shell.Run(folder, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hostKey);
        Shell.Run(folder, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", Path.Combine(folder, "client_key"));
        foreach (var line in File.ReadAllLines(Path.Combine(folder, "client_key")).Where(l => !l.StartsWith("-----", StringComparison.Ordinal)))
        {
            Captured.Secret(line);
        }

        Shell.Run(folder, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", Path.Combine(folder, "other_host_key"));
        File.Copy(Path.Combine(folder, "client_key.pub"), Path.Combine(folder, "authorized_keys"));
        File.WriteAllText(Path.Combine(folder, "known_hosts"), $"[127.0.0.1]:{port} {File.ReadAllText(hostKey + ".pub").Trim()}\n");
        File.WriteAllText(Path.Combine(folder, "wrong_known_hosts"), $"[127.0.0.1]:{port} {File.ReadAllText(Path.Combine(folder, "other_host_key.pub")).Trim()}\n");
        var config = Path.Combine(folder, "sshd_config");
        File.WriteAllText(config, $"""
            Port {port}
            ListenAddress 127.0.0.1
            HostKey {hostKey}
            PidFile {Path.Combine(folder, "sshd.pid")}
            AuthorizedKeysFile {Path.Combine(folder, "authorized_keys")}
            PubkeyAuthentication yes
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PermitRootLogin prohibit-password
            UsePAM no
            StrictModes no
            """);
        var process = Shell.Start("/usr/sbin/sshd", ["-D", "-e", "-f", config]);
        await Shell.WaitForPortAsync(port, process, "sshd");
        return new SshServer(process, port, folder);
    }

    public string Url(string barePath) => $"ssh://root@127.0.0.1:{Port}{barePath}";

    public ValueTask DisposeAsync()
    {
        Shell.Stop(_process);
        return ValueTask.CompletedTask;
    }
}
