using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace ConfigSync.IntegrationTests.Support;

/// <summary>
/// The real published <c>configsync</c> binary run as a child process (the one the Dockerfile ships).
/// The test command publishes it to <c>artifacts/configsync</c>; when it is missing, the first test publishes it.
/// </summary>
public sealed partial class Daemon : IAsyncDisposable
{
    private static readonly Lazy<string> Binary = new(FindOrPublish, LazyThreadSafetyMode.ExecutionAndPublication);
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private Daemon(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public static string RepoRoot { get; } = FindRepoRoot();

    public static Daemon Start(IEnumerable<string> arguments, IDictionary<string, string>? environment = null, string? workingDirectory = null, string? binary = null)
    {
        // The self-contained apphost, as the image runs it, through env, which execs it (same process) with
        // SIGINT's default action restored: see DefaultSigint.
        var start = new ProcessStartInfo("env")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? RepoRoot,
        };
        start.ArgumentList.Add(DefaultSigint);
        start.ArgumentList.Add(binary ?? Binary.Value);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("CONFIGSYNC_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        // What .NET container images set: the daemon must still bind only its own http.listen.
        start.Environment["ASPNETCORE_HTTP_PORTS"] = "8080";

        // The default stateDir ($XDG_STATE_HOME/configsync), kept out of the home folder of whoever runs the tests.
        start.Environment["XDG_STATE_HOME"] = Path.Combine(Path.GetTempPath(), "configsync-test-state");
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        return new Daemon(Process.Start(start)!);
    }

    /// <summary>Runs a command to completion and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(IEnumerable<string> arguments, IDictionary<string, string>? environment = null, TimeSpan? timeout = null, string? binary = null)
    {
        await using var daemon = Start(arguments, environment, binary: binary);
        var code = await daemon.WaitForExitAsync(timeout ?? TimeSpan.FromSeconds(60));
        return (code, daemon.Output);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"configsync did not exit within {timeout}. Output:\n{Output}");
        }

        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no chance to clean up, as a node crash or an OOM kill.</summary>
    public async Task KillHardAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    /// <summary>
    /// env's option that restores SIGINT's default action before it execs the program. A shell started in the
    /// background (<c>bash .ci/run &amp;</c>) ignores SIGINT and every process below it inherits that; the
    /// daemon, as POSIX asks, then leaves Ctrl+C ignored, and <see cref="Interrupt"/> would stop nothing.
    /// </summary>
    public const string DefaultSigint = "--default-signal=INT";

    /// <summary>The published configsync executable the tests run.</summary>
    public static string BinaryPath => Binary.Value;

    /// <summary>
    /// The JIT build of the same program (the framework-dependent apphost the solution build leaves in
    /// src/ConfigSync/bin), which the in-process tests exercise; the differential tests run both.
    /// </summary>
    public static string JitBinaryPath
    {
        get
        {
            var path = Path.Combine(RepoRoot, "src", "ConfigSync", "bin", "Release", "net10.0", "configsync");
            return File.Exists(path) ? path : throw new InvalidOperationException($"no JIT build at {path}: build the solution in Release (dotnet test ConfigSync.sln -c Release does)");
        }
    }

    public void Terminate() => Signal(15);

    /// <summary>SIGINT, as Ctrl+C in a terminal sends.</summary>
    public void Interrupt() => Signal(2);

    private void Signal(int signal)
    {
        if (Kill(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {_process.Id} failed");
        }
    }

    public async ValueTask DisposeAsync()
    {
        Captured.Record(Output);
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private static string FindRepoRoot()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "ConfigSync.sln")))
        {
            folder = folder.Parent;
        }

        return folder?.FullName ?? throw new InvalidOperationException("cannot find ConfigSync.sln above the test folder");
    }

    private static string FindOrPublish()
    {
        var binary = Path.Combine(RepoRoot, "artifacts", "configsync", "configsync");
        var newestSource = Directory.EnumerateFiles(Path.Combine(RepoRoot, "src"), "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/bin/", StringComparison.Ordinal) && !f.Contains("/obj/", StringComparison.Ordinal))
            .Max(File.GetLastWriteTimeUtc);
        if (File.Exists(binary) && File.GetLastWriteTimeUtc(binary) >= newestSource)
        {
            return binary;
        }

        var publish = Process.Start(new ProcessStartInfo("dotnet", ["publish", "src/ConfigSync", "-c", "Release", "-r", System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier, "-o", "artifacts/configsync", "--nologo"])
        {
            WorkingDirectory = RepoRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = publish.StandardOutput.ReadToEnd() + publish.StandardError.ReadToEnd();
        publish.WaitForExit();
        return publish.ExitCode == 0 && File.Exists(binary)
            ? binary
            : throw new InvalidOperationException($"could not publish configsync (run scripts/test.sh):\n{output}");
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
