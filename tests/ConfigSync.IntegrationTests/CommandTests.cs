using System.Text.Json;
using ConfigSync.IntegrationTests.Support;

namespace ConfigSync.IntegrationTests;

/// <summary>The <c>validate</c> and <c>once</c> commands, flags and environment overrides, run as real processes.</summary>
public sealed class CommandTests : IDisposable
{
    private readonly Scenario _scenario = new();
    private readonly AppListener _app = new();

    public void Dispose()
    {
        _app.Dispose();
        _scenario.Dispose();
    }

    [Fact]
    public async Task Validate_BadConfiguration_Exits2_AndNamesEverySetting()
    {
        File.WriteAllText(_scenario.ConfigFile, """
            http:
              listen: "127.0.0.1:99999"
            syncs:
              - name: App_Config
                source: { type: dir }
                target: { root: /tmp/x, fileMode: "0777" }
                interval: often
                signal: { url: "https://user:s3cret@example.com/reload" , methd: POST }
            """);

        var (code, output) = await Daemon.RunAsync(["validate", "--config", _scenario.ConfigFile]);

        Assert.Equal(2, code);
        Assert.Contains("http.listen: '127.0.0.1:99999'", output);
        Assert.Contains("syncs[0].name: 'App_Config'", output);
        Assert.Contains("syncs[0].source.path: is required", output);
        Assert.Contains("syncs[0].target.fileMode: '0777' is world-writable", output);
        Assert.Contains("syncs[0].interval: 'often' is not a duration", output);
        Assert.Contains("syncs[0].signal.methd: unknown setting", output);
        Assert.Contains("invalid configuration (6 problems)", output);
        Assert.DoesNotContain("s3cret", output);
    }

    [Theory]
    [InlineData("syncs:\n  - name: a\n    source: { type: dir, path: /tmp\n", "configsync.yaml: cannot be parsed: line 4, column 1: While parsing a flow mapping")]
    [InlineData("syncs:\n  - name: a\n    source: { type: dir, path: /tmp }\n    target: { root: /tmp/x }\n    maxFailures: many\n", "syncs[0].maxFailures: 'many' is not a whole number")]
    [InlineData("syncs:\n  - name: a\n    source: { type: dir, path: /tmp }\n    target: { root: /tmp/x }\n    interval: [1, 2]\n", "syncs[0].interval: must be a single value, not a section")]
    [InlineData("syncs:\n  - name: a\n    source: { type: dir, path: /tmp }\n    target: { root: /tmp/x }\n    signal: { url: \"ftp://example.com/reload\" }\n", "syncs[0].signal.url: 'ftp://example.com/reload' is not an absolute http:// or https:// URL")]
    [InlineData("syncs:\n  - name: a\n    source: { type: dir, path: /tmp, colour: blue }\n    target: { root: /tmp/x }\n", "syncs[0].source.colour: unknown setting")]
    public async Task BadConfiguration_Exits2_NamingTheInput_ForRunOnceAndValidate(string yaml, string expected)
    {
        File.WriteAllText(_scenario.ConfigFile, yaml);

        foreach (var command in new[] { "validate", "once", "run" })
        {
            var (code, output) = await Daemon.RunAsync([command, "--config", _scenario.ConfigFile]);

            Assert.True(code == 2, $"{command}: exit {code}\n{output}");
            Assert.Contains(expected, output, StringComparison.Ordinal);
        }

        Assert.False(Directory.Exists("/tmp/x/.configsync"), "nothing was started");
    }

    [Fact]
    public async Task Validate_EnvironmentOverridesTheFile()
    {
        var config = _scenario.WriteConfig();
        var good = await Daemon.RunAsync(["validate", "--config", config]);
        Assert.True(good.ExitCode == 0, good.Output);

        var (code, output) = await Daemon.RunAsync(["validate", "--config", config], new Dictionary<string, string> { ["CONFIGSYNC_SYNCS__0__INTERVAL"] = "never" });

        Assert.Equal(2, code);
        Assert.Contains("syncs[0].interval: 'never' is not a duration", output);
    }

    [Fact]
    public async Task Validate_UnknownFlag_IsAUsageError()
    {
        var (code, output) = await Daemon.RunAsync(["run", "--no-such-flag"]);

        Assert.Equal(2, code);
        Assert.Contains("--no-such-flag", output);
    }

    [Fact]
    public async Task Once_FlagsOnly_PublishesSignalsAndExits0_WithJsonLogs()
    {
        _scenario.Temp.Write("source/app.yaml", "x: 1");

        var (code, output) = await Daemon.RunAsync(["once", "--source", "dir", "--path", _scenario.Source, "--root", _scenario.Root, "--signal-url", _app.Url.ToString(), "--log-format", "json"]);

        Assert.True(code == 0, output);
        Assert.Equal("x: 1", File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")));
        var request = Assert.Single(_app.Requests);
        Assert.Equal("default", request.Sync);
        var logLines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(logLines);
        Assert.All(logLines, line => JsonDocument.Parse(line).Dispose());
    }

    [Fact]
    public async Task Once_NoSignal_DoesNotCallTheApp()
    {
        _scenario.Temp.Write("source/app.yaml", "x: 1");
        var config = _scenario.WriteConfig(signalUrl: _app.Url.ToString());

        var (code, output) = await Daemon.RunAsync(["once", "--config", config, "--no-signal"]);

        Assert.True(code == 0, output);
        Assert.Empty(_app.Requests);
    }

    [Fact]
    public async Task Once_SourceMissing_Exits1_WithTheReason()
    {
        var config = _scenario.WriteConfig();

        var (code, output) = await Daemon.RunAsync(["once", "--config", config]);

        Assert.Equal(1, code);
        Assert.Contains($"app: source folder '{_scenario.Source}' does not exist", output);
        Assert.False(Path.Exists(_scenario.Live));
    }
}
