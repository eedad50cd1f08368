using System.Globalization;
using System.Text;
using System.Text.Json;
using ConfigSync.IntegrationTests.Support;
using ConfigSync.Sources.Git.Tests.TestSupport;
using static ConfigSync.Tests.TestSupport.SopsWriter;

namespace ConfigSync.IntegrationTests;

/// <summary>
/// SOPS files in a git repository, decrypted by the published (NativeAOT) executable into a memory-backed target
/// (/dev/shm is tmpfs): plaintext only where it belongs, an unchanged file not decrypted again, a tampered one
/// refused with the last good tree kept, a disk target refused, and the keys checked by validate. Every plaintext
/// of these tests is registered with the secrets scan, which searches everything the daemon printed and served.
/// </summary>
public sealed class SopsDaemonTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly Scenario _scenario = new();
    private readonly WorkRepo _repo;
    private readonly (string KeyFile, string Recipient, string Secret) _key;
    private readonly string _memoryRoot;
    private readonly SopsWriter _writer;

    public SopsDaemonTests()
    {
        _repo = new WorkRepo(_scenario.Temp.Path);
        _key = NewAgeIdentity(_scenario.Temp.Path, "age.txt");
        _writer = new SopsWriter { AgeRecipients = [_key.Recipient] };
        _memoryRoot = Path.Combine("/dev/shm", "configsync-sops-" + Guid.NewGuid().ToString("N")[..12]);
        Assert.Equal(0x01021994, StatFsType("/dev/shm"));
    }

    public void Dispose()
    {
        if (Directory.Exists(_memoryRoot))
        {
            Directory.Delete(_memoryRoot, recursive: true);
        }

        _scenario.Dispose();
    }

    [Fact]
    public async Task Run_PublishesPlaintextToMemory_DecryptsOnlyWhatChanged_AndRefusesATamperedFileKeepingTheLastGoodTree()
    {
        var database = Captured.Secret("db-password-5be71a");
        var apiToken = Captured.Secret("api-token-93c0d2");
        _repo.Commit("conf/database.yaml", _writer.Yaml(Map(("password", database), ("port", 5432L))), "database");
        _repo.Commit("conf/app.env", _writer.Dotenv(Map(("API_TOKEN", apiToken))), "env");
        var first = _repo.Commit("conf/plain.txt", "not a secret", "plain");
        WriteConfig(_memoryRoot, fileMode: "0440");
        await using var daemon = Daemon.Start(["run", "--config", _scenario.ConfigFile]);
        using var http = new DaemonHttp(_scenario.Port);
        await http.WaitUntilReadyAsync(daemon, Patience);

        var live = Path.Combine(_memoryRoot, "current");
        Assert.Equal($"password: {database}\nport: 5432\n", File.ReadAllText(Path.Combine(live, "database.yaml")));
        Assert.Equal($"API_TOKEN={apiToken}\n", File.ReadAllText(Path.Combine(live, "app.env")));
        Assert.Equal("not a secret", File.ReadAllText(Path.Combine(live, "plain.txt")));
        Assert.Equal((UnixFileMode)0x120, File.GetUnixFileMode(Path.Combine(live, "database.yaml")));
        // The manifest keeps the SHA-256 of the encrypted blob beside the plaintext's.
        using var manifest = JsonDocument.Parse(File.ReadAllText((await http.SyncStatusAsync("app")).GetProperty("manifest").GetString()!));
        var entry = manifest.RootElement.GetProperty("files").EnumerateArray().Single(f => f.GetProperty("path").GetString() == "database.yaml");
        var blob = Encoding.UTF8.GetBytes(WorkRepo.Git(_repo.Work, "show", $"{first}:conf/database.yaml") + "\n");
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(blob)), entry.GetProperty("sourceSha256").GetString());
        Assert.Equal("sops", entry.GetProperty("transform").GetString());
        // Over HTTP the plaintext's hash is not served (a short secret could be guessed from it); the blob's is.
        var plaintextHash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes($"password: {database}\nport: 5432\n")));
        Assert.Equal(plaintextHash, entry.GetProperty("sha256").GetString());
        var served = await http.GetStringAsync("/status/app");
        Assert.DoesNotContain(plaintextHash, served, StringComparison.Ordinal);
        Assert.Contains(entry.GetProperty("sourceSha256").GetString()!, served, StringComparison.Ordinal);
        var inode = Inode(Path.Combine(live, "database.yaml"));

        // A commit that changes one encrypted file: the other is hard-linked from the live tree, not decrypted again.
        var newToken = Captured.Secret("api-token-4417aa");
        var second = _repo.Commit("conf/app.env", _writer.Dotenv(Map(("API_TOKEN", newToken))), "rotate the token");
        await DaemonHttp.Eventually(async () => (await http.SyncStatusAsync("app")).GetProperty("revision").GetString() == second, Patience, () => daemon.Output);
        Assert.Equal($"API_TOKEN={newToken}\n", File.ReadAllText(Path.Combine(live, "app.env")));
        Assert.Equal(inode, Inode(Path.Combine(live, "database.yaml")));

        // A tampered file (a value replaced without the data key's MAC) rejects the revision by name; the tree stays.
        var lines = File.ReadAllLines(Path.Combine(_repo.Work, "conf/database.yaml"));
        lines[0] = "password: " + _writer.EncryptValue("attacker-chosen", "password:");
        var bad = _repo.Commit("conf/database.yaml", string.Join('\n', lines) + "\n", "tampered");
        await DaemonHttp.Eventually(async () => (await http.SyncStatusAsync("app")).GetProperty("lastError").GetString()?.Contains(bad[..12], StringComparison.Ordinal) == true, Patience, () => daemon.Output);
        var status = await http.SyncStatusAsync("app");
        var error = status.GetProperty("lastError").GetString()!;
        Assert.Contains("'database.yaml'", error, StringComparison.Ordinal);
        Assert.Contains("MAC mismatch", error, StringComparison.Ordinal);
        Assert.Equal(second, status.GetProperty("revision").GetString());
        Assert.Equal($"password: {database}\nport: 5432\n", File.ReadAllText(Path.Combine(live, "database.yaml")));
        var metrics = await http.GetStringAsync("/metrics");
        Assert.Contains("configsync_decrypted_files{sync=\"app\"} 2", metrics, StringComparison.Ordinal);
        Assert.Matches("configsync_rejected_total\\{sync=\"app\",check=\"decrypt\"\\} [1-9][0-9]*\n", metrics); // each poll of the bad revision rejects it again
        Assert.Contains($"configsync_rejected_revision_info{{sync=\"app\",revision=\"{bad}\",check=\"decrypt\"}} 1", metrics, StringComparison.Ordinal);
        // No staged tree of the refused revision (with the other files' plaintext) is left on the volume. The loop polls
        // again every 300 ms (and stages while it decrypts), so the folder is seen empty between attempts; a tree left
        // behind by each refused attempt (a new name each time) would keep it from ever being empty.
        var staging = Path.Combine(_memoryRoot, ".configsync", "staging");
        await DaemonHttp.Eventually(() => Task.FromResult(!Directory.EnumerateDirectories(staging).Any()), Patience,
            () => "staged trees left: " + string.Join(", ", Directory.EnumerateDirectories(staging)), pollMilliseconds: 10);

        foreach (var text in new[] { daemon.Output, metrics, (await http.GetStringAsync("/status")) })
        {
            foreach (var secret in new[] { database, apiToken, newToken, "attacker-chosen", _key.Secret })
            {
                Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task Once_ToATargetOnDisk_IsRefusedNamingTheSetting_UnlessAllowed()
    {
        var secret = Captured.Secret("disk-secret-08e2f1");
        _repo.Commit("conf/s.yaml", _writer.Yaml(Map(("secret", secret))), "s");
        WriteConfig(_scenario.Root);

        var (code, output) = await Daemon.RunAsync(["once", "--config", _scenario.ConfigFile, "--no-signal"]);

        Assert.Equal(1, code);
        Assert.Contains("not on a memory-backed file system", output, StringComparison.Ordinal);
        Assert.Contains("decrypt.allowDiskTarget", output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_scenario.Live, "s.yaml")));
        Assert.DoesNotContain(secret, string.Join('\n', Directory.EnumerateFiles(_scenario.Root, "*", SearchOption.AllDirectories).Select(File.ReadAllText)), StringComparison.Ordinal);

        WriteConfig(_scenario.Root, allowDiskTarget: true);
        var (allowed, allowedOutput) = await Daemon.RunAsync(["once", "--config", _scenario.ConfigFile, "--no-signal"]);

        Assert.True(allowed == 0, allowedOutput);
        Assert.Equal($"secret: {secret}\n", File.ReadAllText(Path.Combine(_scenario.Live, "s.yaml")));
    }

    [Fact]
    public async Task Once_AFileForAnotherKey_IsRefusedNamingTheFileAndItsRecipients()
    {
        var other = NewAgeIdentity(_scenario.Temp.Path, "other.txt");
        var secret = Captured.Secret("other-secret-3a91c0");
        _repo.Commit("conf/s.yaml", new SopsWriter { AgeRecipients = [other.Recipient] }.Yaml(Map(("secret", secret))), "s");
        WriteConfig(_memoryRoot);

        var (code, output) = await Daemon.RunAsync(["once", "--config", _scenario.ConfigFile, "--no-signal"]);

        Assert.Equal(1, code);
        Assert.Contains("'s.yaml': SOPS: no configured age key opens it", output, StringComparison.Ordinal);
        Assert.Contains(other.Recipient, output, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("missing", "cannot be read")]
    [InlineData("garbage", "not an age X25519 identity")]
    [InlineData("good", null)]
    public async Task Validate_ChecksTheAgeKeyFile_WithoutPrintingIt(string keyFile, string? error)
    {
        var path = keyFile switch
        {
            "missing" => _scenario.Temp.Combine("no-such-key.txt"),
            "garbage" => _scenario.Temp.Combine("garbage.txt"),
            _ => _key.KeyFile,
        };
        if (keyFile == "garbage")
        {
            File.WriteAllText(path, Captured.Secret("not-a-key-c4a8e2") + "\n");
        }

        WriteConfig(_memoryRoot, keyFile: path);

        var (code, output) = await Daemon.RunAsync(["validate", "--config", _scenario.ConfigFile]);

        if (error is null)
        {
            Assert.True(code == 0, output);
        }
        else
        {
            Assert.Equal(2, code);
            Assert.Contains(error, output, StringComparison.Ordinal);
            Assert.Contains("decrypt.sops.ageKeyFile", output, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("not-a-key-c4a8e2", output, StringComparison.Ordinal);
        Assert.DoesNotContain(_key.Secret, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dev_DecryptsIntoTheLocalFolder()
    {
        var secret = Captured.Secret("dev-secret-77b3e9");
        Directory.CreateDirectory(_scenario.Source);
        File.WriteAllText(Path.Combine(_scenario.Source, "s.yaml"), _writer.Yaml(Map(("secret", secret))));
        File.WriteAllText(_scenario.ConfigFile, $"""
            syncs:
              - name: app
                source:
                  type: dir
                  path: {_scenario.Source}
                target:
                  root: {_scenario.Root}
                interval: 1h
                decrypt:
                  sops:
                    ageKeyFile: {_key.KeyFile}
            """);
        await using var dev = Daemon.Start(["dev", "--config", _scenario.ConfigFile]);

        await DaemonHttp.Eventually(() => Task.FromResult(File.Exists(Path.Combine(_scenario.Live, "s.yaml"))), Patience, () => dev.Output);

        Assert.Equal($"secret: {secret}\n", File.ReadAllText(Path.Combine(_scenario.Live, "s.yaml")));
        dev.Interrupt();
        Assert.Equal(0, await dev.WaitForExitAsync(Patience));
        Assert.DoesNotContain(secret, dev.Output, StringComparison.Ordinal);
    }

    private void WriteConfig(string root, string fileMode = "0644", bool allowDiskTarget = false, string? keyFile = null) =>
        File.WriteAllText(_scenario.ConfigFile, string.Create(CultureInfo.InvariantCulture, $"""
            http:
              listen: "127.0.0.1:{_scenario.Port}"
            syncs:
              - name: app
                source:
                  type: git
                  url: {_repo.FileUrl}
                  ref: main
                  path: conf
                target:
                  root: {root}
                  fileMode: "{fileMode}"
                interval: 300ms
                decrypt:
                  allowDiskTarget: {(allowDiskTarget ? "true" : "false")}
                  sops:
                    ageKeyFile: {keyFile ?? _key.KeyFile}
            """));

    private static long Inode(string path) => long.Parse(Shell.Run("/", "stat", "-c", "%i", path), CultureInfo.InvariantCulture);

    private static long StatFsType(string path) => Convert.ToInt64(Shell.Run("/", "stat", "-f", "-c", "%t", path), 16);
}
