using System.Diagnostics;

namespace ConfigSync.Diagnostics;

/// <summary>What a finished command printed and how it exited.</summary>
/// <param name="ExitCode">The exit code.</param>
/// <param name="Output">Standard output.</param>
/// <param name="Error">Standard error.</param>
public sealed record ProcessResult(int ExitCode, string Output, string Error)
{
    /// <summary>The last characters of standard error (or output when error is empty), redacted, for a one-line message.</summary>
    public string Tail(int length = 300)
    {
        var text = (Error.Trim().Length > 0 ? Error : Output).Trim().ReplaceLineEndings(" ");
        return Redact.Url(text.Length > length ? text[^length..] : text);
    }
}

/// <summary>Runs a command without a shell: arguments passed as a list, output captured, killed with its children when cancelled.</summary>
public static class ChildProcess
{
    /// <summary>Runs <paramref name="command"/> (program and arguments) to completion.</summary>
    /// <param name="command">The program, then its arguments.</param>
    /// <param name="workingDirectory">The folder it runs in, or null for the current one.</param>
    /// <param name="environment">Variables added to the inherited environment.</param>
    /// <param name="input">Bytes written to its standard input, or null for none.</param>
    /// <param name="cancellationToken">Kills the process tree when cancelled.</param>
    public static async Task<ProcessResult> RunAsync(
        IReadOnlyList<string> command,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null,
        byte[]? input = null,
        CancellationToken cancellationToken = default)
    {
        var start = new ProcessStartInfo(command[0])
        {
            WorkingDirectory = workingDirectory ?? string.Empty,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in command.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{command[0]} could not be started");
        var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var error = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            try
            {
                if (input is not null)
                {
                    await process.StandardInput.BaseStream.WriteAsync(input, cancellationToken);
                }

                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // The command exited without reading all of its input; its exit code tells the rest.
            }

            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }

            throw;
        }

        return new ProcessResult(process.ExitCode, await output, await error);
    }
}
