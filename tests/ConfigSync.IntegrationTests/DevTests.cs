using System.Diagnostics;
using System.Text;
using ConfigSync.IntegrationTests.Support;

namespace ConfigSync.IntegrationTests;

/// <summary>
/// <c>configsync dev</c> in the daemon process: plain lines when stdout is a pipe, the live view on a real
/// terminal (a pseudo-terminal made by util-linux <c>script</c>), and a clean exit on Ctrl+C in both.
/// </summary>
public sealed class DevTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly Scenario _scenario = new();

    public DevTests()
    {
        Directory.CreateDirectory(_scenario.Source);
        File.WriteAllText(Path.Combine(_scenario.Source, "app.yaml"), "v: 1");
        File.WriteAllText(Path.Combine(_scenario.Source, "old.yaml"), "gone soon");
    }

    public void Dispose() => _scenario.Dispose();

    private string[] Arguments => ["dev", "--source", "dir", "--path", _scenario.Source, "--root", _scenario.Root, "--interval", "1h"];

    [Fact]
    public async Task NotATerminal_PrintsALinePerPublishWithWhatChanged_WatchesTheFolder_AndCtrlCExitsZero()
    {
        await using var dev = Daemon.Start(Arguments);
        await DaemonHttp.Eventually(() => Task.FromResult(dev.Output.Contains(": +2 ~0 -0 (2 files, 13 B)", StringComparison.Ordinal)), Patience, () => dev.Output);

        // The interval is an hour: only the file-system watch can bring these in.
        File.WriteAllText(Path.Combine(_scenario.Source, "app.yaml"), "v: 2");
        File.WriteAllText(Path.Combine(_scenario.Source, "new.yaml"), "n: 1");
        File.Delete(Path.Combine(_scenario.Source, "old.yaml"));
        await DaemonHttp.Eventually(() => Task.FromResult(dev.Output.Contains(": +1 ~1 -1 (2 files, 8 B)", StringComparison.Ordinal)), Patience, () => dev.Output);
        Assert.Equal("v: 2", File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")));

        dev.Interrupt();
        Assert.Equal(0, await dev.WaitForExitAsync(Patience));
        Assert.Contains("configsync dev: stopped", dev.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b[", dev.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OnATerminal_DrawsTheLiveTable_AndCtrlCFromTheTerminalExitsZero()
    {
        // script runs the command through $SHELL -c; dash (/bin/sh, what script uses when SHELL is unset, as
        // on CI) stays as the parent and dies of the same Ctrl+C, so exec replaces it with the daemon (through env,
        // for SIGINT's default action: Daemon.DefaultSigint).
        var command = "exec env " + string.Join(' ', new[] { Daemon.DefaultSigint, Daemon.BinaryPath }.Concat(Arguments).Select(a => "'" + a + "'"));
        var start = new ProcessStartInfo("script", ["-qfec", command, "/dev/null"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["TERM"] = "xterm-256color";
        start.Environment["COLUMNS"] = "120";
        start.Environment["SHELL"] = "/bin/sh";
        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        var reader = Task.Run(async () =>
        {
            var buffer = new char[4096];
            int read;
            while ((read = await process.StandardOutput.ReadAsync(buffer)) > 0)
            {
                lock (output)
                {
                    output.Append(buffer, 0, read);
                }
            }
        });
        string Seen()
        {
            lock (output)
            {
                return output.ToString();
            }
        }

        try
        {
            await DaemonHttp.Eventually(() => Task.FromResult(Seen().Contains("synced", StringComparison.Ordinal)), Patience, Seen);

            // Ctrl+C typed at the terminal: the pty's line discipline turns it into SIGINT for the program.
            await process.StandardInput.WriteAsync('\u0003');
            await process.StandardInput.FlushAsync();
            using var exited = new CancellationTokenSource(Patience);
            await process.WaitForExitAsync(exited.Token);
            await reader;

            var text = Seen();
            Assert.Equal(0, process.ExitCode);
            Assert.Contains("ConfigSync dev", text, StringComparison.Ordinal);
            Assert.Contains("Revision", text, StringComparison.Ordinal);
            Assert.Contains("+2 ~0 -0", text, StringComparison.Ordinal);
            Assert.Contains("\u001b[", text, StringComparison.Ordinal);
            Assert.Contains("stopped", text, StringComparison.Ordinal);
            Assert.Equal("v: 1", File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }
}
