using System.Diagnostics;
using ConfigSync.IntegrationTests.Support;
using ConfigSync.Tests.TestSupport;

namespace ConfigSync.IntegrationTests;

/// <summary>
/// ConfigSync as a .NET tool: the package <c>dotnet pack</c> built (scripts/test.sh packs it into artifacts/nupkg),
/// installed with <c>dotnet tool install</c> from that folder alone into a temporary tool path, then run.
/// </summary>
public sealed class ToolTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task PackedTool_InstallsFromALocalSource_AndSyncsAFolderAndAGitRepository()
    {
        var packages = Path.Combine(Daemon.RepoRoot, "artifacts", "nupkg");
        if (!Directory.Exists(packages) || Directory.GetFiles(packages, "ConfigSync.*.nupkg").Length == 0)
        {
            await RunAsync("dotnet", ["pack", Path.Combine(Daemon.RepoRoot, "src", "ConfigSync"), "-c", "Release", "-o", packages, "--nologo"], Daemon.RepoRoot);
        }

        var package = Directory.GetFiles(packages, "ConfigSync.*.nupkg").Single();
        var version = Path.GetFileNameWithoutExtension(package)["ConfigSync.".Length..];
        File.WriteAllText(_temp.Combine("nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration><packageSources><clear /><add key="local" value="{packages}" /></packageSources></configuration>
            """);
        var tools = _temp.Combine("tools");

        var install = await RunAsync("dotnet", ["tool", "install", "ConfigSync", "--tool-path", tools, "--configfile", _temp.Combine("nuget.config"), "--version", version], _temp.Path);
        var printed = await RunAsync(Path.Combine(tools, "configsync"), ["--version"], _temp.Path);
        _temp.Write("src/app.yaml", "from: tool");
        await RunAsync(Path.Combine(tools, "configsync"), ["once", "--source", "dir", "--path", "src", "--root", "out"], _temp.Path);
        var repo = new WorkRepo(_temp.Path);
        repo.Commit("git.yaml", "from: git", "one");
        await RunAsync(Path.Combine(tools, "configsync"), ["--repo", repo.FileUrl, "--root", "git", "--one-time"], _temp.Path);

        Assert.Contains($"Tool 'configsync' (version '{version}') was successfully installed", install, StringComparison.Ordinal);
        Assert.StartsWith(version, printed.Trim(), StringComparison.Ordinal);
        Assert.Equal("from: tool", File.ReadAllText(_temp.Combine("out/current/app.yaml")));
        Assert.Equal("from: git", File.ReadAllText(_temp.Combine("git/repo.git/git.yaml")));
    }

    private async Task<string> RunAsync(string program, string[] arguments, string folder)
    {
        var start = new ProcessStartInfo(program, arguments) { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        // Its own package cache: a package of the same version cached by an earlier run must not stand in for this one.
        start.Environment["NUGET_PACKAGES"] = _temp.Combine("nuget-packages");
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("CONFIGSYNC_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        var text = await output + await error;
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', arguments)} exited {process.ExitCode}:\n{text}");
        return text;
    }
}
