using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using ConfigSync.IntegrationTests.Support;
using ConfigSync.Sources.AzureBlob.Tests.TestSupport;
using ConfigSync.Sources.Git.Tests.TestSupport;
using ConfigSync.Sources.S3.Tests.TestSupport;

namespace ConfigSync.IntegrationTests;

/// <summary>
/// The shipped build is the tested build: each scenario runs `configsync once` with the JIT build the
/// in-process tests exercise and with the NativeAOT executable the image ships, each into a volume and a
/// stateDir of its own, and asserts the same exit code, the same published tree (paths, modes, SHA-256,
/// link targets) and the same error lines. A new feature adds its row to <see cref="Scenarios"/>.
/// </summary>
public sealed partial class DifferentialTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public static TheoryData<string> Scenarios() =>
    [
        "dir-link-layout", "dir-kubelet-layout", "dir-copy-layout", "config-as-json", "flags-only", "env-override",
        "validate-yaml-passes", "validate-yaml-too-deep", "validate-yaml-malformed", "validate-json-schema-fails", "link-chain-escape",
        "git-file", "git-ssh-signed-commit", "git-ssh-unsigned-commit", "git-ssh-untrusted-signer", "git-openpgp-signed-commit",
        "git-ssh-signed-tag", "git-submodule-local-refused", "git-submodule-allow-local", "git-over-ssh-with-global-insteadof",
        "s3-access-keys", "azureblob-connection-string", "signal-to-the-app",
    ];

    public void Dispose()
    {
        foreach (var home in Directory.EnumerateDirectories(_temp.Path, "gpg-*"))
        {
            Shell.Run("/", "gpgconf", "--homedir", home, "--kill", "gpg-agent");
        }

        _temp.Dispose();
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public async Task BothBuilds_SameExitCode_SameTree_SameErrors(string scenario)
    {
        await using var setup = await SetUpAsync(scenario);
        var jit = await RunAsync(setup, "jit", Daemon.JitBinaryPath);
        var aot = await RunAsync(setup, "aot", Daemon.BinaryPath);

        Assert.True(jit.ExitCode == setup.ExpectedExit, $"JIT build: exit {jit.ExitCode}, expected {setup.ExpectedExit}\n{jit.Output}");
        Assert.True(aot.ExitCode == jit.ExitCode, $"NativeAOT exit {aot.ExitCode}, JIT {jit.ExitCode}\nNativeAOT:\n{aot.Output}\nJIT:\n{jit.Output}");
        Assert.Equal(jit.Tree, aot.Tree);
        Assert.Equal(jit.Errors, aot.Errors);
        if (setup.ExpectedExit == 0)
        {
            Assert.NotEmpty(jit.Tree);
        }

        if (setup.ExpectedError is { } expected)
        {
            Assert.Contains(expected, string.Join('\n', aot.Errors), StringComparison.Ordinal);
        }
    }

    private async Task<Outcome> RunAsync(Setup setup, string build, string binary)
    {
        Directory.CreateDirectory(_temp.Combine($"{setup.Name}-{build}"));
        var root = _temp.Combine($"{setup.Name}-{build}", "volume");
        var config = setup.Config?.Replace("{ROOT}", root, StringComparison.Ordinal);
        var arguments = new List<string>(setup.Arguments.Select(a => a.Replace("{ROOT}", root, StringComparison.Ordinal)));
        if (config is not null)
        {
            var file = _temp.Combine($"{setup.Name}-{build}", setup.ConfigName);
            File.WriteAllText(file, config);
            arguments.AddRange(["--config", file]);
        }

        var environment = new Dictionary<string, string>(setup.Environment)
        {
            ["XDG_STATE_HOME"] = _temp.Combine($"{setup.Name}-{build}", "state"),
        };
        var signalsBefore = setup.App?.Requests.Count ?? 0;
        var (code, output) = await Daemon.RunAsync(setup.App is null ? ["once", "--no-signal", .. arguments] : ["once", .. arguments], environment, TimeSpan.FromSeconds(90), binary);
        if (setup.App is { } app)
        {
            // Exactly one signal per run, with the revision the tree holds.
            Assert.Equal(signalsBefore + 1, app.Requests.Count);
        }

        var errors = output.Split('\n')
            .Where(l => l.StartsWith("configsync:", StringComparison.Ordinal))
            .Select(l => l.Replace(root, "<root>", StringComparison.Ordinal).Replace(_temp.Path, "<temp>", StringComparison.Ordinal))
            .Select(l => TreeId().Replace(l, "<tree>"))
            .ToList();
        return new Outcome(code, output, Snapshot(root), errors);
    }

    /// <summary>Every entry of the volume but ConfigSync's state: path, type, mode and SHA-256 or link target; tree ids normalized.</summary>
    private static List<string> Snapshot(string root)
    {
        var lines = new List<string>();
        if (!Directory.Exists(root))
        {
            return lines;
        }

        void Walk(string folder, string shown)
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries(folder).Order(StringComparer.Ordinal))
            {
                var name = Path.GetFileName(entry);
                if (shown.Length == 0 && name == ".configsync")
                {
                    continue;
                }

                var path = TreeId().Replace(shown + name, "<tree>");
                var info = new FileInfo(entry);
                if (info.LinkTarget is { } target)
                {
                    lines.Add($"{path} -> {TreeId().Replace(target, "<tree>")}");
                    if (Directory.Exists(entry) && !target.Contains("..", StringComparison.Ordinal) || name is "current")
                    {
                        Walk(entry, path + "/");
                    }
                }
                else if (Directory.Exists(entry))
                {
                    lines.Add($"{path}/ {ManifestMode(new DirectoryInfo(entry).UnixFileMode)}");
                    Walk(entry, path + "/");
                }
                else
                {
                    lines.Add($"{path} {ManifestMode(info.UnixFileMode)} {Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(entry)))[..16]}");
                }
            }
        }

        Walk(root, string.Empty);
        return lines;
    }

    private static string ManifestMode(UnixFileMode mode) => Convert.ToString((int)mode, 8);

    [GeneratedRegex(@"\.\.[0-9]{4}_[0-9_]+\.[0-9]{7}|[a-z0-9]{1,12}-[0-9]{1,13}(?=$|/|\b)")]
    private static partial Regex TreeId();

    private async Task<Setup> SetUpAsync(string scenario)
    {
        var folder = _temp.Combine(scenario);
        Directory.CreateDirectory(folder);
        var source = Path.Combine(folder, "source");
        Directory.CreateDirectory(Path.Combine(source, "conf"));
        File.WriteAllText(Path.Combine(source, "app.yaml"), "port: 8080\nname: app\n");
        File.WriteAllText(Path.Combine(source, "conf", "db.json"), "{\"pool\": 5}");
        File.CreateSymbolicLink(Path.Combine(source, "current-db.json"), "conf/db.json");
        string DirConfig(string extraSync = "", string target = "") => $$"""
            http: { listen: "off" }
            syncs:
              - name: app
                source: { type: dir, path: "{{source}}" }
                target: { root: "{{"{ROOT}"}}" {{target}} }
            {{extraSync}}
            """;

        switch (scenario)
        {
            case "dir-link-layout":
                return new Setup(scenario, DirConfig());
            case "dir-kubelet-layout":
                return new Setup(scenario, DirConfig(target: ", layout: kubelet"));
            case "dir-copy-layout":
                File.Delete(Path.Combine(source, "current-db.json"));
                return new Setup(scenario, DirConfig(target: ", layout: copy, fileMode: \"0440\""));
            case "config-as-json":
                return new Setup(scenario, $$$"""{"http": {"listen": "off"}, "syncs": [{"name": "app", "source": {"type": "dir", "path": "{{{source}}}"}, "target": {"root": "{ROOT}"}}]}""") { ConfigName = "configsync.json" };
            case "flags-only":
                return new Setup(scenario, null) { Arguments = ["--source", "dir", "--path", source, "--root", "{ROOT}", "--listen", "off"] };
            case "env-override":
                return new Setup(scenario, DirConfig()) { Environment = new() { ["CONFIGSYNC_SYNCS__0__TARGET__LINK"] = "live" } };
            case "validate-yaml-passes":
                return new Setup(scenario, DirConfig("    validate: [{ type: yaml }, { type: json }]"));
            case "validate-yaml-too-deep":
                File.WriteAllText(Path.Combine(source, "deep.yaml"), "a: " + new string('[', 30_000) + new string(']', 30_000));
                return new Setup(scenario, DirConfig("    validate: [{ type: yaml }]"), ExpectedExit: 1, ExpectedError: "deep.yaml");
            case "validate-yaml-malformed":
                // A flow sequence left open: once "Operation is not valid due to the current state of the object.", now a position.
                File.WriteAllText(Path.Combine(source, "bad.yaml"), "list: [1, 2\nnext: 3\n");
                return new Setup(scenario, DirConfig("    validate: [{ type: yaml }]"), ExpectedExit: 1, ExpectedError: "bad.yaml: not valid YAML at line");
            case "validate-json-schema-fails":
                File.WriteAllText(Path.Combine(source, "schema.json"), "{\"type\": \"object\", \"required\": [\"pool\", \"host\"]}");
                return new Setup(scenario, DirConfig("    validate: [{ type: jsonSchema, schema: schema.json, files: [\"conf/*.json\"] }]"), ExpectedExit: 1, ExpectedError: "conf/db.json");
            case "signal-to-the-app":
                var listener = new AppListener();
                return new Setup(scenario, DirConfig($"    signal: {{ url: \"{listener.Url}\" }}")) { App = listener };
            case "s3-access-keys":
                var s3 = await S3rver.StartAsync(Path.Combine(folder, "s3"));
                await s3.PutAsync("prod/app.yaml", "port: 8080");
                await s3.PutAsync("prod/conf/db.json", "{\"pool\": 5}");
                File.WriteAllText(Path.Combine(folder, "key-id"), S3rver.KeyId);
                File.WriteAllText(Path.Combine(folder, "secret"), S3rver.Secret);
                return new Setup(scenario, $$"""
                    http: { listen: "off" }
                    syncs:
                      - name: app
                        source: { type: s3, bucket: {{s3.Bucket}}, prefix: prod/, endpoint: "{{s3.Endpoint}}", auth: { accessKeyIdFile: "{{Path.Combine(folder, "key-id")}}", secretAccessKeyFile: "{{Path.Combine(folder, "secret")}}" } }
                        target: { root: "{ROOT}" }
                    """) { Server = s3 };
            case "azureblob-connection-string":
                var azurite = await Azurite.StartAsync();
                var container = await azurite.CreateContainerAsync("config");
                await container.PutAsync("prod/app.yaml", "port: 8080");
                await container.PutAsync("prod/conf/db.json", "{\"pool\": 5}");
                File.WriteAllText(Path.Combine(folder, "connection"), azurite.ConnectionString);
                return new Setup(scenario, $$"""
                    http: { listen: "off" }
                    syncs:
                      - name: app
                        source: { type: azureblob, container: config, prefix: prod/, auth: { connectionStringFile: "{{Path.Combine(folder, "connection")}}" } }
                        target: { root: "{ROOT}" }
                    """) { Server = azurite };
            case "link-chain-escape":
                var deep = Path.Combine(source, "1", "2", "3");
                Directory.CreateDirectory(deep);
                File.CreateSymbolicLink(Path.Combine(deep, "x"), "../../..");
                File.CreateSymbolicLink(Path.Combine(deep, "y"), "x/../../../../../etc/passwd");
                return new Setup(scenario, DirConfig(), ExpectedExit: 1, ExpectedError: "'1/2/3/y' is a symbolic link");
            default:
                return await GitSetUpAsync(scenario, folder);
        }
    }

    private async Task<Setup> GitSetUpAsync(string scenario, string folder)
    {
        var repo = new WorkRepo(folder);
        File.WriteAllText(Path.Combine(repo.Work, "app.yaml"), "port: 8080\n");
        File.WriteAllText(Path.Combine(repo.Work, "run.sh"), "#!/bin/sh\necho hi\n");
        File.SetUnixFileMode(Path.Combine(repo.Work, "run.sh"), (UnixFileMode)0x1ED);
        File.CreateSymbolicLink(Path.Combine(repo.Work, "link.yaml"), "app.yaml");
        string GitConfig(string source, string extra = "") => $$"""
            http: { listen: "off" }
            syncs:
              - name: app
                source: { type: git, url: "{{source}}", ref: main {{extra}} }
                target: { root: "{ROOT}" }
            """;
        var keys = Path.Combine(folder, "keys");
        Directory.CreateDirectory(keys);
        string[] SshKey(string name)
        {
            Shell.Run(keys, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", Path.Combine(keys, name));
            return ["-c", "gpg.format=ssh", "-c", "user.signingkey=" + Path.Combine(keys, name)];
        }

        string AllowedSigners(string name)
        {
            var file = Path.Combine(keys, "allowed_signers");
            File.WriteAllText(file, $"{name}@example.com {File.ReadAllText(Path.Combine(keys, name + ".pub")).Trim()}\n");
            return file;
        }

        void CommitAll(params string[] signing)
        {
            WorkRepo.Git(repo.Work, "add", "-A");
            WorkRepo.Git(repo.Work, [.. signing, "commit", "-q", .. (signing.Length > 0 ? new[] { "-S" } : []), "-m", "config"]);
            WorkRepo.Git(repo.Work, "push", "-q", "origin", "HEAD:refs/heads/main");
        }

        switch (scenario)
        {
            case "git-file":
                CommitAll();
                return new Setup(scenario, GitConfig(repo.FileUrl));
            case "git-ssh-signed-commit":
                CommitAll(SshKey("alice"));
                return new Setup(scenario, GitConfig(repo.FileUrl, $", verify: {{ allowedSignersFile: \"{AllowedSigners("alice")}\" }}"));
            case "git-ssh-unsigned-commit":
                SshKey("alice");
                CommitAll();
                return new Setup(scenario, GitConfig(repo.FileUrl, $", verify: {{ allowedSignersFile: \"{AllowedSigners("alice")}\" }}"), ExpectedExit: 1, ExpectedError: "is not signed");
            case "git-ssh-untrusted-signer":
                SshKey("alice");
                CommitAll(SshKey("mallory"));
                return new Setup(scenario, GitConfig(repo.FileUrl, $", verify: {{ allowedSignersFile: \"{AllowedSigners("alice")}\" }}"), ExpectedExit: 1, ExpectedError: "commit");
            case "git-openpgp-signed-commit":
                var (signing, fingerprint) = GpgKey(folder, "alice");
                CommitAll(signing);
                var keysFile = Path.Combine(folder, "trusted.asc");
                File.WriteAllText(keysFile, Shell.Run("/", "gpg", "--homedir", Path.Combine(folder, "gpg-alice"), "--armor", "--export", fingerprint));
                return new Setup(scenario, GitConfig(repo.FileUrl, $", verify: {{ gpgKeysFile: \"{keysFile}\" }}"));
            case "git-ssh-signed-tag":
                var signer = SshKey("alice");
                CommitAll();
                WorkRepo.Git(repo.Work, [.. signer, "tag", "-s", "-m", "release", "v1"]);
                WorkRepo.Git(repo.Work, "push", "-q", "origin", "v1");
                return new Setup(scenario, GitConfig(repo.FileUrl, $", verify: {{ mode: tag, allowedSignersFile: \"{AllowedSigners("alice")}\" }}").Replace("ref: main", "ref: v1", StringComparison.Ordinal));
            case "git-submodule-local-refused" or "git-submodule-allow-local":
                Directory.CreateDirectory(Path.Combine(folder, "lib"));
                var library = new WorkRepo(Path.Combine(folder, "lib"));
                library.Commit("lib.yaml", "shared: true", "lib");
                WorkRepo.Git(repo.Work, "-c", "protocol.file.allow=always", "submodule", "add", "-q", library.Bare, "vendor/lib");
                CommitAll();
                return scenario == "git-submodule-local-refused"
                    ? new Setup(scenario, GitConfig(repo.FileUrl, ", submodules: recursive"), ExpectedExit: 1, ExpectedError: "is a local path or file:// URL")
                    : new Setup(scenario, GitConfig(repo.FileUrl, ", submodules: { mode: recursive, allowLocal: true }"));
            case "git-over-ssh-with-global-insteadof":
                CommitAll();
                var sshd = await SshServer.StartAsync(Path.Combine(folder, "sshd"));
                var home = Path.Combine(folder, "home");
                Directory.CreateDirectory(home);

                // The configured URL names a host that does not exist; only ~/.gitconfig's insteadOf leads to the server.
                File.WriteAllText(Path.Combine(home, ".gitconfig"), $"[url \"{sshd.Url(repo.Bare)}\"]\n\tinsteadOf = ssh://git@config.invalid/app.git\n");
                var config = GitConfig("ssh://git@config.invalid/app.git", $", auth: {{ sshKeyFile: \"{sshd.ClientKey}\", knownHostsFile: \"{sshd.KnownHosts}\" }}");
                return new Setup(scenario, config) { Environment = new() { ["HOME"] = home }, Server = sshd };
            default:
                throw new ArgumentOutOfRangeException(nameof(scenario), scenario, "no such scenario");
        }
    }

    private static (string[] Signing, string Fingerprint) GpgKey(string folder, string name)
    {
        var home = Path.Combine(folder, "gpg-" + name);
        Directory.CreateDirectory(home);
        File.SetUnixFileMode(home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Shell.Run("/", "gpg", "--homedir", home, "--batch", "--passphrase", string.Empty, "--quick-gen-key", $"{name} <{name}@example.com>", "ed25519", "sign", "never");
        var fingerprint = Shell.Run("/", "gpg", "--homedir", home, "--with-colons", "--list-keys")
            .Split('\n').First(l => l.StartsWith("fpr:", StringComparison.Ordinal)).Split(':')[9];
        var program = Path.Combine(folder, $"gpg-{name}.sh");
        File.WriteAllText(program, $"#!/bin/sh\nexec gpg --homedir '{home}' \"$@\"\n");
        File.SetUnixFileMode(program, (UnixFileMode)0x1ED);
        return (["-c", "gpg.format=openpgp", "-c", "gpg.program=" + program, "-c", "user.signingkey=" + fingerprint], fingerprint);
    }

    private sealed record Setup(string Name, string? Config, int ExpectedExit = 0, string? ExpectedError = null) : IAsyncDisposable
    {
        public string ConfigName { get; init; } = "configsync.yaml";

        public IReadOnlyList<string> Arguments { get; init; } = [];

        public Dictionary<string, string> Environment { get; init; } = [];

        public IAsyncDisposable? Server { get; init; }

        public AppListener? App { get; init; }

        public async ValueTask DisposeAsync()
        {
            App?.Dispose();
            if (Server is not null)
            {
                await Server.DisposeAsync();
            }
        }
    }

    private sealed record Outcome(int ExitCode, string Output, List<string> Tree, List<string> Errors);
}
