using ConfigSync.Configuration;
using ConfigSync.Sources.Dir;
using ConfigSync.Tests.TestSupport;
using Microsoft.Extensions.Configuration;

namespace ConfigSync.Tests.Configuration;

public class SettingsLoaderTests
{
    private static DaemonSettings? Load(Dictionary<string, string?> values, out IReadOnlyList<string> errors) => Load(values, "/base", out errors);

    private static DaemonSettings? Load(Dictionary<string, string?> values, string baseDirectory, out IReadOnlyList<string> errors)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        return SettingsLoader.Load(configuration, [new DirectorySourceFactory()], baseDirectory, out errors);
    }

    private static Dictionary<string, string?> TwoSyncs(string firstRoot, string secondRoot) => new()
    {
        ["syncs:0:name"] = "a", ["syncs:0:source:type"] = "dir", ["syncs:0:source:path"] = "x", ["syncs:0:target:root"] = firstRoot,
        ["syncs:1:name"] = "b", ["syncs:1:source:type"] = "dir", ["syncs:1:source:path"] = "y", ["syncs:1:target:root"] = secondRoot,
    };

    [Fact]
    public void Load_MinimalSync_AppliesDocumentedDefaults()
    {
        var settings = Load(new() { ["syncs:0:name"] = "app-config", ["syncs:0:source:type"] = "dir", ["syncs:0:source:path"] = "cfg", ["syncs:0:target:root"] = "out" }, out var errors);

        Assert.Empty(errors);
        var sync = Assert.Single(settings!.Syncs);
        Assert.Equal("0.0.0.0", settings.Http.Host);
        Assert.Equal(8081, settings.Http.Port);
        Assert.Equal("/base/out", sync.Target.Root);
        Assert.Equal("/base/cfg", ((DirectorySourceOptions)sync.Source.Options).Path);
        Assert.Equal("current", sync.Target.Link);
        Assert.Equal(TimeSpan.FromSeconds(30), sync.Interval);
        Assert.Equal(TimeSpan.FromMinutes(2), sync.Timeout);
        Assert.Equal((UnixFileMode)Convert.ToInt32("644", 8), sync.Target.FileMode);
        Assert.Equal((UnixFileMode)Convert.ToInt32("755", 8), sync.Target.DirMode);
        Assert.Equal(256L << 20, sync.MaxBytes);
        Assert.Equal(["**"], sync.Include);
    }

    [Fact]
    public void Load_SettingsLeftOut_TakeTheDefaultsTheSettingsTypesDeclare()
    {
        var settings = Load(
            new()
            {
                ["syncs:0:name"] = "a", ["syncs:0:source:type"] = "dir", ["syncs:0:source:path"] = "cfg", ["syncs:0:target:root"] = "out",
                ["syncs:0:signal:verify:url"] = "http://127.0.0.1:8080/version",
                ["syncs:0:validate:0:type"] = "yaml",
                ["syncs:0:webhook:secretFile"] = "secret",
            },
            out var errors);

        Assert.Empty(errors);
        var sync = settings!.Syncs[0];
        Assert.Equal(new LogSettings("console", "info"), settings.Log);
        SameValues.Assert(new SyncSettings { Name = "a", Source = sync.Source, Target = sync.Target }, sync, nameof(SyncSettings.Signal), nameof(SyncSettings.Validate), nameof(SyncSettings.Webhook));
        SameValues.Assert(new TargetSettings { Root = "/base/out" }, sync.Target);
        SameValues.Assert(new SignalSettings(), sync.Signal, nameof(SignalSettings.Verify));
        SameValues.Assert(new ReloadVerifySettings { Url = sync.Signal.Verify!.Url }, sync.Signal.Verify);
        SameValues.Assert(new CheckSettings { Type = CheckType.Yaml, Files = CheckSettings.DefaultFiles(CheckType.Yaml) }, sync.Validate[0]);
        SameValues.Assert(new WebhookSettings { SecretFile = "/base/secret" }, sync.Webhook!);
        SameValues.Assert(new DirectorySourceOptions { Path = "/base/cfg" }, (DirectorySourceOptions)sync.Source.Options);
    }

    [Fact]
    public void Load_ValidateAndWebhook_ReadWithDefaults_AndBadChecksAreNamed()
    {
        var good = Load(
            new()
            {
                ["syncs:0:name"] = "a", ["syncs:0:source:type"] = "dir", ["syncs:0:source:path"] = "cfg", ["syncs:0:target:root"] = "out",
                ["syncs:0:validate:0:type"] = "json",
                ["syncs:0:validate:1:type"] = "jsonSchema", ["syncs:0:validate:1:files:0"] = "app.yaml", ["syncs:0:validate:1:schema"] = "./schemas/app.json",
                ["syncs:0:validate:2:type"] = "exec", ["syncs:0:validate:2:command:0"] = "nginx", ["syncs:0:validate:2:command:1"] = "-t",
                ["syncs:0:webhook:secretFile"] = "secret",
            },
            out var noErrors);
        var bad = Load(
            new()
            {
                ["syncs:0:name"] = "a", ["syncs:0:source:type"] = "dir", ["syncs:0:source:path"] = "cfg", ["syncs:0:target:root"] = "out",
                ["syncs:0:validate:0:type"] = "xml",
                ["syncs:0:validate:1:type"] = "jsonSchema",
                ["syncs:0:validate:2:type"] = "exec",
                ["syncs:0:validate:3:type"] = "json", ["syncs:0:validate:3:files:0"] = "../x.json",
                ["syncs:0:webhook:maxBodySize"] = "-1",
            },
            out var errors);

        Assert.Empty(noErrors);
        var sync = good!.Syncs[0];
        Assert.Equal(["**/*.json"], sync.Validate[0].Files);
        Assert.Equal("schemas/app.json", sync.Validate[1].Schema);
        Assert.Equal(["nginx", "-t"], sync.Validate[2].Command);
        Assert.Equal("/base/secret", sync.Webhook!.SecretFile);
        Assert.Equal(1L << 20, sync.Webhook.MaxBodySize);
        Assert.Equal("X-Signature-256", sync.Webhook.SignatureHeader);
        Assert.Null(bad);
        var text = string.Join("\n", errors);
        Assert.Contains("syncs[0].validate[0].type: 'xml' is not one of: json, yaml, jsonschema, exec", text);
        Assert.Contains("syncs[0].validate[1].schema: is required for a jsonSchema check", text);
        Assert.Contains("syncs[0].validate[1].files: is required for a jsonSchema check", text);
        Assert.Contains("syncs[0].validate[2].command: is required for an exec check", text);
        Assert.Contains("syncs[0].validate[3].files: patterns are paths inside the tree", text);
        Assert.Contains("syncs[0].webhook.secretFile: is required", text);
        Assert.Contains("syncs[0].webhook.maxBodySize: '-1' is not a positive size", text);
    }

    [Fact]
    public void Load_CopyLayout_IsAccepted_ButNotWithRollback()
    {
        var values = new Dictionary<string, string?>
        {
            ["syncs:0:name"] = "a", ["syncs:0:source:type"] = "dir", ["syncs:0:source:path"] = "cfg", ["syncs:0:target:root"] = "out", ["syncs:0:target:layout"] = "copy",
        };
        var copy = Load(values, out var none);
        values["syncs:0:signal:verify:url"] = "http://127.0.0.1:8080/version";
        values["syncs:0:signal:verify:rollback"] = "true";
        Load(values, out var errors);

        Assert.Empty(none);
        Assert.Equal(TreeLayout.Copy, copy!.Syncs[0].Target.Layout);
        Assert.Contains("syncs[0].signal.verify.rollback: needs target.layout link or kubelet: layout copy keeps no previous tree to roll back to", errors);
    }

    [Fact]
    public void Load_ManyBadSettings_NamesEveryOne()
    {
        Load(
            new()
            {
                ["http:listen"] = "nowhere",
                ["log:format"] = "xml",
                ["syncs:0:name"] = "Bad_Name",
                ["syncs:0:source:type"] = "dir",
                ["syncs:0:target:root"] = "out",
                ["syncs:0:target:fileMode"] = "0666",
                ["syncs:0:target:dirmode"] = "abc",
                ["syncs:0:interval"] = "soon",
                ["syncs:0:limits:maxBytes"] = "lots",
                ["syncs:0:signal:url"] = "ftp://user:hunter2@example.com/x",
                ["syncs:0:intervall"] = "30s",
                ["syncs:1:name"] = "other",
                ["syncs:1:source:type"] = "ftp",
                ["syncs:1:target:root"] = "out2",
            },
            out var errors);

        var text = string.Join("\n", errors);
        Assert.Contains("http.listen: 'nowhere'", text);
        Assert.Contains("log.format: 'xml'", text);
        Assert.Contains("syncs[0].name: 'Bad_Name'", text);
        Assert.Contains("syncs[0].source.path: is required", text);
        Assert.Contains("syncs[0].target.fileMode: '0666' is world-writable", text);
        Assert.Contains("syncs[0].target.dirMode: 'abc' is not an octal mode", text);
        Assert.Contains("syncs[0].interval: 'soon' is not a duration", text);
        Assert.Contains("syncs[0].limits.maxBytes: 'lots'", text);
        Assert.Contains("syncs[0].signal.url:", text);
        Assert.Contains("syncs[0].intervall: unknown setting", text);
        Assert.Contains("syncs[1].source.type: 'ftp' is not one of: dir", text);
        Assert.DoesNotContain("hunter2", text);
        Assert.Equal(11, errors.Count);
    }

    [Fact]
    public void Load_NoSyncs_IsAnError()
    {
        var settings = Load(new() { ["http:listen"] = "127.0.0.1:9000" }, out var errors);

        Assert.Null(settings);
        Assert.Contains(errors, e => e.StartsWith("syncs: at least one sync is required", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_DuplicateNamesAndSharedRoots_AreNamed()
    {
        Load(
            new()
            {
                ["syncs:0:name"] = "a", ["syncs:0:source:type"] = "dir", ["syncs:0:source:path"] = "x", ["syncs:0:target:root"] = "out",
                ["syncs:1:name"] = "a", ["syncs:1:source:type"] = "dir", ["syncs:1:source:path"] = "y", ["syncs:1:target:root"] = "out",
            },
            out var errors);

        Assert.Contains(errors, e => e.Contains("the name 'a' is used by 2 syncs", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("target.root '/base/out' is shared by syncs a, a", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_LinkWithSlash_IsRefused()
    {
        Load(new() { ["syncs:0:name"] = "a", ["syncs:0:source:type"] = "dir", ["syncs:0:source:path"] = "x", ["syncs:0:target:root"] = "out", ["syncs:0:target:link"] = "../escape" }, out var errors);

        Assert.Contains(errors, e => e.StartsWith("syncs[0].target.link: '../escape' must be a plain name", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_MaxStalenessNotLongerThanInterval_IsRefused()
    {
        Load(new() { ["syncs:0:name"] = "a", ["syncs:0:source:type"] = "dir", ["syncs:0:source:path"] = "x", ["syncs:0:target:root"] = "out", ["syncs:0:interval"] = "1m", ["syncs:0:maxStaleness"] = "30s" }, out var errors);

        Assert.Contains(errors, e => e.StartsWith("syncs[0].maxStaleness: must be longer than the interval (1m)", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Load_RootWrittenWithDotAndTrailingSlash_IsTheSameRoot_WhetherItExistsOrNot(bool exists)
    {
        using var temp = new TempFolder();
        var root = temp.Combine("out");
        if (exists)
        {
            Directory.CreateDirectory(root);
        }

        var settings = Load(TwoSyncs("out", "./out/"), temp.Path, out var errors);

        Assert.Null(settings);
        var error = Assert.Single(errors);
        Assert.EndsWith($"out' is shared by syncs a, b (written '{root}', '{root}/': the same folder); give each sync its own root", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_RootsThroughASymbolicLink_AreTheSameRoot_AlsoBelowIt()
    {
        using var temp = new TempFolder();
        var real = Directory.CreateDirectory(temp.Combine("volume")).FullName;
        File.CreateSymbolicLink(temp.Combine("alias"), "volume");

        Load(TwoSyncs("volume", "alias"), temp.Path, out var same);
        Load(TwoSyncs("volume/config/live", "alias/config/live/"), temp.Path, out var below);

        Assert.EndsWith($"volume' is shared by syncs a, b (written '{real}', '{temp.Combine("alias")}': the same folder); give each sync its own root", Assert.Single(same), StringComparison.Ordinal);
        Assert.EndsWith("volume/config/live' is shared by syncs a, b (written "
            + $"'{temp.Combine("volume/config/live")}', '{temp.Combine("alias/config/live/")}': the same folder); give each sync its own root", Assert.Single(below), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_OneFolderBindMountedAtTwoPaths_IsTheSameRoot()
    {
        // realpath sees two folders; device and inode see one (mounting needs root, as CI runs).
        using var temp = new TempFolder();
        Directory.CreateDirectory(temp.Combine("volume"));
        Directory.CreateDirectory(temp.Combine("mounted"));
        Assert.True(Run("mount", "--bind", temp.Combine("volume"), temp.Combine("mounted")) == 0, "this test bind-mounts a folder and needs root");
        try
        {
            Load(TwoSyncs("volume", "mounted"), temp.Path, out var errors);

            Assert.Contains("is shared by syncs a, b", Assert.Single(errors), StringComparison.Ordinal);
        }
        finally
        {
            Run("umount", temp.Combine("mounted"));
        }
    }

    private static int Run(string file, params string[] arguments)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(file, arguments) { RedirectStandardError = true })!;
        process.WaitForExit();
        return process.ExitCode;
    }

    [Fact]
    public void Load_NestedRoots_AreAllowed_OnlyTheSameFolderIsRefused()
    {
        using var temp = new TempFolder();

        var settings = Load(TwoSyncs("out", "out/inner"), temp.Path, out var errors);

        Assert.Empty(errors);
        Assert.Equal(2, settings!.Syncs.Count);
    }

    [Fact]
    public void Load_RootThatIsAFile_IsRefusedNamingItAFile()
    {
        using var temp = new TempFolder();
        var file = temp.Write("config.txt", "not a folder");

        Load(new() { ["syncs:0:name"] = "a", ["syncs:0:source:type"] = "dir", ["syncs:0:source:path"] = "x", ["syncs:0:target:root"] = "config.txt" }, temp.Path, out var errors);

        Assert.Equal($"syncs[0].target.root: '{file}' is a file; the root must be a folder (or not exist yet)", Assert.Single(errors));
    }
}
