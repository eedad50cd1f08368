using System.Diagnostics;

namespace ConfigSync.Tests.TestSupport;

/// <summary>The npm servers pinned in tests/servers (s3rver, Azurite), run as child processes.</summary>
public static class NodeServer
{
    /// <summary>Starts <c>node tests/servers/node_modules/SCRIPT ARGUMENTS</c>, its output drained.</summary>
    public static Process Start(string script, IEnumerable<string> arguments, IDictionary<string, string>? environment = null)
    {
        var path = Path.Combine(RepoRoot(), "tests", "servers", "node_modules", script);
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"{script} is not installed: run scripts/test-deps.sh (npm ci in tests/servers)");
        }

        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(path);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    public static async Task StopAsync(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        process.Dispose();
    }

    public static string RepoRoot()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "ConfigSync.sln")))
        {
            folder = folder.Parent;
        }

        return folder?.FullName ?? throw new InvalidOperationException("cannot find ConfigSync.sln");
    }
}
