using System.Diagnostics;
using System.Text;
using ConfigSync.Hosting;
using ConfigSync.Tests.TestSupport;

namespace ConfigSync.Tests.Hosting;

/// <summary>The config file held to its bounds before the configuration's YAML provider (which recurses) reads it.</summary>
public sealed class ConfigurationInputTests : IDisposable
{
    private const string Valid = "syncs:\n  - name: a\n    source: { type: dir, path: /tmp }\n    target: { root: /tmp/configsync-never-used }\n";

    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    public static TheoryData<string, string, string> Hostile => new()
    {
        { "bomb.yaml", AliasBomb(), "bomb.yaml: cannot be parsed: line 6, column 10: the YAML expands to more than 100000 nodes (aliases)" },
        { "deep.yaml", "syncs: " + new string('[', 30_000) + new string(']', 30_000) + "\n", "deep.yaml: cannot be parsed: line 1, column 71: nested deeper than 64 levels" },
        { "deep-block.yaml", "syncs:\n" + string.Concat(Enumerable.Repeat("- ", 30_000)) + "x\n", "deep-block.yaml: cannot be parsed: line 2, column 127: nested deeper than 64 levels" },
        { "deep.json", "{\"syncs\": " + new string('[', 30_000) + new string(']', 30_000) + "}", "deep.json: cannot be parsed: nested deeper than 64 levels at line 1, column 74" },
        { "flow.yaml", "syncs:\n  - [a, b\n  - c\n", "flow.yaml: cannot be parsed: line 3, column 3: inside a flow collection" },
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public void Load_HostileConfigFile_IsRefusedNamingTheFile(string name, string content, string expected)
    {
        var path = _temp.Write(name, content);

        var settings = new ConfigurationInput { ConfigFile = path }.Load(out var errors);

        Assert.Null(settings);
        var error = Assert.Single(errors);
        Assert.StartsWith(_temp.Combine(expected), error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_AliasBombConfig_IsRefusedAtTheConfigBudget()
    {
        var path = _temp.Write("bomb.yaml", AliasBomb());
        var clock = Stopwatch.StartNew();

        new ConfigurationInput { ConfigFile = path }.Load(out var errors);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.EndsWith("the YAML expands to more than 100000 nodes (aliases)", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ConfigFileOverOneMebibyte_IsRefusedBySize()
    {
        var path = _temp.Write("big.yaml", Valid + "# " + new string('x', 1 << 20) + "\n");

        new ConfigurationInput { ConfigFile = path }.Load(out var errors);

        Assert.Equal($"{path}: is {new FileInfo(path).Length} bytes; a config file may be at most 1 MiB (1048576 bytes)", Assert.Single(errors));
    }

    [Fact]
    public void Load_OrdinaryConfigFile_StillLoads()
    {
        var path = _temp.Write("configsync.yaml", Valid);

        var settings = new ConfigurationInput { ConfigFile = path }.Load(out var errors);

        Assert.Empty(errors);
        Assert.Equal("a", Assert.Single(settings!.Syncs).Name);
    }

    [Theory]
    [InlineData("bomb.yaml")]
    [InlineData("deep.yaml")]
    public async Task Validate_HostileConfigFile_Exits2WithTheFileNamed_InsteadOfCrashing(string name)
    {
        var path = _temp.Write(name, name == "bomb.yaml" ? AliasBomb() : "syncs: " + new string('[', 30_000) + new string(']', 30_000) + "\n");
        var start = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "configsync"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("validate");
        start.ArgumentList.Add("--config");
        start.ArgumentList.Add(path);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout + await stderr;

        Assert.True(process.ExitCode == 2, $"exit {process.ExitCode}\n{output}");
        Assert.Contains($"{path}: cannot be parsed: line ", output, StringComparison.Ordinal);
    }

    /// <summary>Nine levels of nine aliases under <c>syncs</c>: about 387 million nodes once expanded.</summary>
    private static string AliasBomb()
    {
        var yaml = new StringBuilder("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (var level = 1; level <= 7; level++)
        {
            yaml.Append($"l{level}: &l{level} [{string.Join(", ", Enumerable.Repeat($"*l{level - 1}", 9))}]\n");
        }

        return yaml.Append($"syncs: [{string.Join(", ", Enumerable.Repeat("*l7", 9))}]\n").ToString();
    }
}
