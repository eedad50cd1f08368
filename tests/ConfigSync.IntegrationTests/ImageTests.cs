using System.Diagnostics;
using System.Net;
using ConfigSync.IntegrationTests.Support;
using ConfigSync.Sources.Git.Tests.TestSupport;
using ConfigSync.Sources.S3.Tests.TestSupport;
using ConfigSync.Tests.TestSupport;

namespace ConfigSync.IntegrationTests;

/// <summary>
/// The image docker/Dockerfile builds (scripts/image.sh, run by scripts/test.sh), run the way a pod
/// runs it: as its own non-root user, no capabilities, a read-only root file system without a
/// writable /tmp, the shared volume and the private state folder mounted.
/// </summary>
[Collection(ContainerCollection.Name)]
public sealed class ImageTests : IAsyncLifetime
{
    private readonly TempFolder _temp = new();
    private readonly Podman _podman = new();

    public async Task InitializeAsync()
    {
        await Podman.RequireImageAsync(Podman.Image);
        File.SetUnixFileMode(_temp.Path, (UnixFileMode)0x1ED); // 0755: the containers' users reach the folders below
    }

    [Fact]
    public async Task Image_RunsTheDaemonAsUser1654_WithoutCapabilities_WithSshSshKeygenAndGpgv_AndOnlyTheExecutableAndLibgit2InApp()
    {
        var user = await Podman.CheckAsync("image", "inspect", "--format", "{{.Config.User}}", Podman.Image);
        // The daemon as the image starts it, with the engine's default options (no --user, no --cap-drop):
        // its own process's user and capability sets, as the kernel sees them.
        var container = _podman.Container("defaults");
        await Podman.CheckAsync("run", "-d", "--name", container, "--label", Podman.Label, Podman.Image, "run", "--source", "dir", "--path", "/app", "--root", "/tmp/out", "--interval", "1h", "--listen", "127.0.0.1:8081");
        var probe = await Podman.CheckAsync("exec", container, "sh", "-c",
            "id -u; id -g; grep -E '^Cap(Inh|Prm|Eff|Amb)' /proc/1/status; tr '\\0' ' ' < /proc/1/cmdline; echo; for p in ssh ssh-keygen gpgv gpg gpg-agent; do command -v $p || echo missing $p; done; ls /app");
        var lines = probe.Split('\n');

        Assert.Equal("1654", user);
        Assert.Equal("1654", lines[0]);
        Assert.Equal("1654", lines[1]);
        Assert.Equal(["CapInh:\t0000000000000000", "CapPrm:\t0000000000000000", "CapEff:\t0000000000000000", "CapAmb:\t0000000000000000"], lines[2..6]);
        Assert.StartsWith("/app/configsync run", lines[6], StringComparison.Ordinal); // the process measured is the daemon
        Assert.Equal(["/usr/bin/ssh", "/usr/bin/ssh-keygen", "/usr/bin/gpgv", "/usr/bin/gpg", "/usr/bin/gpg-agent"], lines[7..12]);
        var app = lines[12..];
        Assert.Contains("configsync", app);
        Assert.All(app, f => Assert.True(f == "configsync" || f.StartsWith("libgit2", StringComparison.Ordinal), $"/app holds {f}: only the executable and libgit2 belong there"));
    }

    /// <summary>
    /// SOPS files for an age identity and for an OpenPGP key (gpg and gpg-agent in the image, the keyring in the
    /// private state tmpfs) decrypted by the image's executable into a tmpfs volume, on a read-only root; the same
    /// configuration with the volume on disk is refused. Only hashes of the plaintext leave the container.
    /// </summary>
    [Fact]
    public async Task Once_DecryptsSopsFiles_ForAgeAndOpenPgp_IntoATmpfsVolume_AndRefusesADiskOne()
    {
        var keys = Folder("keys");
        var age = Tests.TestSupport.SopsWriter.NewAgeIdentity(keys, "age.txt");
        var (fingerprint, _) = Tests.TestSupport.SopsWriter.NewGpgKey(Path.Combine(_temp.Path, "gnupg-maker"), keys);
        Shell.Run("/", "chmod", "-R", "a+rX", keys);
        var source = Folder("source");
        var ageSecret = Captured.Secret("image-age-secret-6d0b2f");
        var pgpSecret = Captured.Secret("image-pgp-secret-e81c4a");
        File.WriteAllText(Path.Combine(source, "age.yaml"), new Tests.TestSupport.SopsWriter { AgeRecipients = [age.Recipient] }.Yaml(Tests.TestSupport.SopsWriter.Map(("secret", ageSecret))));
        File.WriteAllText(Path.Combine(source, "pgp.json"), new Tests.TestSupport.SopsWriter { PgpFingerprints = [fingerprint], GpgHome = Path.Combine(_temp.Path, "gnupg-maker") }.Json(Tests.TestSupport.SopsWriter.Map(("secret", pgpSecret))));
        var config = Folder("config");
        File.WriteAllText(Path.Combine(config, "config.yaml"), """
            syncs:
              - name: secrets
                source: { type: dir, path: /src }
                target: { root: /config, fileMode: "0440" }
                decrypt:
                  sops: { ageKeyFile: /keys/age.txt, gpgKeysFile: /keys/gpg-secret-keys.asc }
            """);
        Shell.Run("/", "chmod", "-R", "a+rX", config);
        string[] mounts = ["-v", $"{source}:/src:ro", "-v", $"{keys}:/keys:ro", "-v", $"{config}:/etc/configsync:ro"];
        const string Script = "/app/configsync once --config /etc/configsync/config.yaml --no-signal && stat -f -c %T /config && sha256sum /config/current/age.yaml /config/current/pgp.json";

        var (code, output, error) = await Podman.RunAsync([.. Hardened(_podman.Container("sops")), .. mounts,
            "--mount", "type=tmpfs,destination=/config,chown=true", "--entrypoint", "sh", Podman.Image, "-c", Script]);

        Assert.True(code == 0, $"exit {code}: {output}{error}");
        var lines = output.Trim().Split('\n');
        Assert.Equal("tmpfs", lines[0]);
        Assert.StartsWith(Sha256($"secret: {ageSecret}\n"), lines[1], StringComparison.Ordinal);
        Assert.StartsWith(Sha256($"{{\n  \"secret\": \"{pgpSecret}\"\n}}\n"), lines[2], StringComparison.Ordinal);

        var volume = Volume("disk-volume");
        var disk = await Podman.RunAsync([.. Hardened(_podman.Container("sops-disk")), .. mounts, "-v", $"{volume}:/config",
            Podman.Image, "once", "--config", "/etc/configsync/config.yaml", "--no-signal"]);

        Assert.Equal(1, disk.ExitCode);
        Assert.Contains("decrypt.allowDiskTarget", disk.Output + disk.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(volume, "current", "age.yaml")));
    }

    [Fact]
    public async Task Image_CarriesTheOpenContainersLabels_WithTheProjectsVersion()
    {
        var labels = await Podman.CheckAsync("image", "inspect", "--format", "{{json .Config.Labels}}", Podman.Image);
        using var json = System.Text.Json.JsonDocument.Parse(labels);
        string Label(string name) => json.RootElement.GetProperty("org.opencontainers.image." + name).GetString()!;
        var csproj = File.ReadAllText(Path.Combine(Daemon.RepoRoot, "src", "ConfigSync", "ConfigSync.csproj"));

        Assert.Contains($"<Version>{Label("version")}</Version>", csproj, StringComparison.Ordinal);
        Assert.Equal(Shell.Run(Daemon.RepoRoot, "git", "rev-parse", "HEAD"), Label("revision")); // the image of this commit, not a stale one
        Assert.Equal("Apache-2.0", Label("licenses"));
        Assert.StartsWith("https://", Label("source"), StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(Label("description")));
    }

    [Fact]
    public async Task Once_Publishes_OnAReadOnlyRoot_WithoutWritableTmp_AsTheImagesUser()
    {
        var source = Folder("source");
        File.WriteAllText(Path.Combine(source, "app.yaml"), "greeting: hello\n");
        var volume = Volume("volume");
        var container = _podman.Container("once");

        var (code, output, error) = await Podman.RunAsync([.. Hardened(container), "-v", $"{source}:/src:ro", "-v", $"{volume}:/config",
            Podman.Image, "once", "--source", "dir", "--path", "/src", "--root", "/config", "--no-signal"]);

        var tmp = await Podman.RunAsync([.. Hardened(_podman.Container("tmp")), "--entrypoint", "sh", Podman.Image, "-c", "touch /tmp/x || exit 9"]);

        Assert.True(code == 0, $"once exited {code}: {output}{error}");
        Assert.Equal("greeting: hello\n", File.ReadAllText(Path.Combine(volume, "current", "app.yaml")));
        Assert.Equal(9, tmp.ExitCode); // the control: /tmp is not writable in these runs
        Assert.Equal(1654u, Owner(Path.Combine(volume, "current", "app.yaml")));
    }

    [Fact]
    public async Task Run_AnswersReadyzMetricsAndSync_AndExitsZeroOnSigtermWellWithinTheGracePeriod()
    {
        var source = Folder("source");
        File.WriteAllText(Path.Combine(source, "app.yaml"), "v: 1\n");
        var volume = Volume("volume");
        var port = AppListener.FreePort();
        var container = _podman.Container("run");
        await Podman.CheckAsync([.. Hardened(container), "-d", "--network", "host", "-v", $"{source}:/src:ro", "-v", $"{volume}:/config",
            Podman.Image, "run", "--source", "dir", "--path", "/src", "--root", "/config", "--interval", "1h", "--listen", $"127.0.0.1:{port}"]);
        using var http = new DaemonHttp(port);

        await DaemonHttp.Eventually(async () => await http.StatusOfAsync("/readyz") == HttpStatusCode.OK, TimeSpan.FromSeconds(30), () => "/readyz 200");
        var metrics = await http.GetStringAsync("/metrics");
        File.WriteAllText(Path.Combine(source, "app.yaml"), "v: 2\n");
        var sync = await http.PostAsync("/sync/default");
        var live = Path.Combine(volume, "current", "app.yaml");
        await DaemonHttp.Eventually(() => Task.FromResult(File.Exists(live) && File.ReadAllText(live) == "v: 2\n"), TimeSpan.FromSeconds(30), () => "v: 2 published", pollMilliseconds: 100);
        var stopwatch = Stopwatch.StartNew();
        await Podman.CheckAsync("stop", "--time", "30", container);
        stopwatch.Stop();

        Assert.Contains("configsync_sync_total", metrics, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Accepted, sync);
        Assert.Equal(0, await Podman.ExitCodeAsync(container));
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(25), $"SIGTERM to exit took {stopwatch.Elapsed} (podman kills at 30 s)");
        Captured.Record(await Podman.LogsAsync(container));
    }

    [Fact]
    public async Task GitOverSsh_WorksInsideTheImage_WithAMountedKeyAndKnownHosts()
    {
        await using var ssh = await SshServer.StartAsync(Folder("sshd"));
        var repo = new WorkRepo(Folder("repo"));
        var commit = repo.Commit("app.yaml", "over: ssh\n", "first");
        var secrets = Folder("secrets");
        File.Copy(ssh.ClientKey, Path.Combine(secrets, "id"));
        File.Copy(ssh.KnownHosts, Path.Combine(secrets, "known_hosts"));
        foreach (var file in Directory.GetFiles(secrets))
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead); // as a Secret volume mounts them
        }

        var config = Path.Combine(Folder("etc"), "config.yaml");
        File.WriteAllText(config, $"""
            syncs:
              - name: app
                source:
                  type: git
                  url: {ssh.Url(repo.Bare)}
                  ref: main
                  auth:
                    sshKeyFile: /secrets/id
                    knownHostsFile: /secrets/known_hosts
                target:
                  root: /config
            """);
        var volume = Volume("volume");
        var container = _podman.Container("ssh");

        var (code, output, error) = await Podman.RunAsync([.. Hardened(container), "--network", "host", "-v", $"{secrets}:/secrets:ro",
            "-v", $"{Path.GetDirectoryName(config)}:/etc/configsync:ro", "-v", $"{volume}:/config",
            Podman.Image, "once", "--config", "/etc/configsync/config.yaml", "--no-signal"]);

        Assert.True(code == 0, $"once exited {code}: {output}{error}");
        Assert.Equal("over: ssh\n", File.ReadAllText(Path.Combine(volume, "current", "app.yaml")));
        var live = Path.GetFileName(new DirectoryInfo(Path.Combine(volume, "current")).LinkTarget!); // .configsync/trees/<rev12>-<seq>
        Assert.StartsWith(commit[..12], live, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MountedRepositoryOfAnotherOwner_IsRefusedNamingTheSetting_AndPublishedOnceListedInSafeDirectories()
    {
        var repo = new WorkRepo(Folder("repo"));
        repo.Commit("app.yaml", "from: a mounted repository\n", "first");
        Shell.Run("/", "chmod", "-R", "a+rX", repo.Bare); // readable by 1654, owned by root: the mounted-volume case
        var volume = Volume("volume");

        async Task<(int Code, string Output)> OnceAsync(string name, params string[] extra)
        {
            var (code, output, error) = await Podman.RunAsync([.. Hardened(_podman.Container(name)), "-v", $"{repo.Bare}:/repo.git:ro", "-v", $"{volume}:/config",
                Podman.Image, "once", "--source", "git", "--url", "file:///repo.git", "--ref", "main", "--root", "/config", "--no-signal", .. extra]);
            return (code, output + error);
        }

        async Task<(int Code, string Output)> OnceWithAsync(string name, string safeDirectories)
        {
            var config = Path.Combine(Folder("etc-" + name), "config.yaml");
            File.WriteAllText(config, $$"""
                syncs:
                  - name: app
                    source: { type: git, url: "file:///repo.git", ref: main, safeDirectories: {{safeDirectories}} }
                    target: { root: /config }
                """);
            var (code, output, error) = await Podman.RunAsync([.. Hardened(_podman.Container(name)), "-v", $"{repo.Bare}:/repo.git:ro", "-v", $"{volume}:/config",
                "-v", $"{Path.GetDirectoryName(config)}:/etc/configsync:ro", Podman.Image, "once", "--config", "/etc/configsync/config.yaml", "--no-signal"]);
            return (code, output + error);
        }

        var refused = await OnceAsync("refused");
        var other = await OnceWithAsync("other", """["/other.git"]""");
        var (code, output) = await OnceWithAsync("trusted", """["/repo.git"]""");

        Assert.Equal(1, refused.Code);
        Assert.Equal(1, other.Code); // trusting another path trusts nothing else
        Assert.Contains("not owned by current user", other.Output, StringComparison.Ordinal);
        Assert.Contains("not owned by current user", refused.Output, StringComparison.Ordinal);
        Assert.Contains("source.safeDirectories", refused.Output, StringComparison.Ordinal);
        Assert.True(code == 0, $"once exited {code}: {output}");
        Assert.Equal("from: a mounted repository\n", File.ReadAllText(Path.Combine(volume, "current", "app.yaml")));
    }

    [Fact]
    public async Task ChartPublisher_RunsInTheImage_AsTheChartRendersIt_AndAReaderTakesWhatItPublished()
    {
        // The chart's publisher, rendered by helm: its args and its ConfigMap's configuration, run in the image as the pod
        // would run it, publishing a folder into s3rver (on the host's network: the pod's clouds are not reachable here).
        await using var s3 = await S3rver.StartAsync(Folder("s3"));
        var source = Folder("source");
        File.WriteAllText(Path.Combine(source, "app.yaml"), "v: 1\n");
        var secrets = Folder("secrets");
        File.WriteAllText(Path.Combine(secrets, "key-id"), S3rver.KeyId);
        File.WriteAllText(Path.Combine(secrets, "secret"), S3rver.Secret);
        foreach (var file in Directory.GetFiles(secrets))
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead); // as a Secret volume mounts them
        }

        var port = AppListener.FreePort();
        var store = $"type: s3, bucket: {s3.Bucket}, prefix: prod, region: us-east-1, endpoint: \"{s3.Endpoint}\", auth: {{ accessKeyIdFile: /secrets/key-id, secretAccessKeyFile: /secrets/secret }}";
        var values = Path.Combine(Folder("values"), "values.yaml");
        File.WriteAllText(values, $$"""
            port: {{port}}
            config:
              http: { listen: "0.0.0.0:{{port}}" }
            publisher:
              enabled: true
              config:
                http: { listen: "0.0.0.0:{{port}}" }
                syncs:
                  - name: web
                    source: { type: dir, path: /src }
                    publish: { {{store}}, gracePeriod: 0s }
                    interval: 1s
            """);
        var documents = await Helm.RenderAsync(Path.Combine(Daemon.RepoRoot, "charts", "config-sync"), "-f", values);
        var etc = Folder("etc");
        File.WriteAllText(Path.Combine(etc, "config.yaml"), (string)documents.Single(d => (string?)d["metadata"]!["name"] == "t-config-sync-publisher" && (string?)d["kind"] == "ConfigMap")["data"]!["config.yaml"]!);
        var args = documents.Single(d => (string?)d["kind"] == "Deployment")["spec"]!["template"]!["spec"]!["containers"]![0]!["args"]!.AsArray().Select(a => (string)a!).ToArray();
        var container = _podman.Container("publisher");
        await Podman.CheckAsync([.. Hardened(container), "-d", "--network", "host", "-v", $"{source}:/src:ro", "-v", $"{secrets}:/secrets:ro", "-v", $"{etc}:/etc/configsync:ro", Podman.Image, .. args]);
        using var http = new DaemonHttp(port);
        await DaemonHttp.Eventually(async () => await http.StatusOfAsync("/readyz") == HttpStatusCode.OK, TimeSpan.FromSeconds(60), () => "the publisher's /readyz never answered 200");

        // A reader of the index (the published executable) takes the tree, then the change the publisher picks up.
        var reader = Path.Combine(Folder("reader"), "config.yaml");
        var root = Path.Combine(Path.GetDirectoryName(reader)!, "volume");
        File.WriteAllText(reader, $$"""
            syncs:
              - name: web
                source: { {{store.Replace("/secrets/", secrets + "/", StringComparison.Ordinal)}}, index: .configsync-index.json }
                target: { root: {{root}} }
            """);
        var first = await Daemon.RunAsync(["once", "--config", reader, "--no-signal"]);
        Assert.True(first.ExitCode == 0, first.Output);
        Assert.Equal("v: 1\n", File.ReadAllText(Path.Combine(root, "current", "app.yaml")));

        File.WriteAllText(Path.Combine(source, "app.yaml"), "v: 2\n");
        await DaemonHttp.Eventually(async () => (await http.GetStringAsync("/metrics")).Contains("configsync_sync_total{sync=\"web\",result=\"changed\"} 2", StringComparison.Ordinal),
            TimeSpan.FromSeconds(60), () => "the change was not published");
        var second = await Daemon.RunAsync(["once", "--config", reader, "--no-signal"]);
        Assert.True(second.ExitCode == 0, second.Output);
        Assert.Equal("v: 2\n", File.ReadAllText(Path.Combine(root, "current", "app.yaml")));

        await Podman.CheckAsync("stop", "--time", "30", container);
        Assert.Equal(0, await Podman.ExitCodeAsync(container));
        Captured.Record(await Podman.LogsAsync(container));
    }

    public async Task DisposeAsync()
    {
        await _podman.DisposeAsync();
        _temp.Dispose();
    }

    /// <summary>run options of the chart's ConfigSync container: its own user, no capabilities, no privilege escalation, a read-only root and no writable /tmp; the private state folder is an empty volume.</summary>
    private static string[] Hardened(string name) =>
        ["run", "--name", name, "--label", Podman.Label, "--user", "1654:1654", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
         "--read-only", "--read-only-tmpfs=false", "--mount", "type=tmpfs,destination=/var/lib/configsync,tmpfs-mode=0700,chown=true"];

    /// <summary>A host folder for a shared volume, writable by the image's user (as fsGroup makes an emptyDir).</summary>
    private string Volume(string name)
    {
        var folder = Folder(name);
        Shell.Run("/", "chown", "1654:1654", folder);
        return folder;
    }

    private static string Sha256(string text) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));

    private static uint Owner(string path) => uint.Parse(Shell.Run("/", "stat", "-c", "%u", path), System.Globalization.CultureInfo.InvariantCulture);

    private string Folder(string name) => Directory.CreateDirectory(_temp.Combine(name)).FullName;
}
