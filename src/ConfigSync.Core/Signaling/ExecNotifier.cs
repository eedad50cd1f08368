using System.Diagnostics;
using ConfigSync.Configuration;
using ConfigSync.Diagnostics;
using Microsoft.Extensions.Logging;

namespace ConfigSync.Signaling;

/// <summary>Runs a command after a publish, with the revision and path in its environment.</summary>
internal sealed partial class ExecNotifier(SignalSettings settings, string workingDirectory, string sync, ILogger logger) : INotifier
{
    public string Describe => "exec " + settings.ExecCommand[0];

    public async Task NotifyAsync(SignalPayload payload, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(settings.ExecCommand[0])
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in settings.ExecCommand.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["CONFIGSYNC_SYNC"] = payload.Sync;
        start.Environment["CONFIGSYNC_REVISION"] = payload.Revision;
        start.Environment["CONFIGSYNC_PREVIOUS_REVISION"] = payload.PreviousRevision ?? string.Empty;
        start.Environment["CONFIGSYNC_PATH"] = payload.Path;

        using var process = Process.Start(start) ?? throw new SignalException($"{Describe} could not be started");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        if (process.ExitCode != 0)
        {
            var tail = (await error).Trim();
            tail = tail.Length > 300 ? tail[^300..] : tail;
            throw new SignalException($"{Describe} exited with {process.ExitCode}{(tail.Length > 0 ? ": " + Redact.Url(tail) : string.Empty)}");
        }

        foreach (var line in (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Take(20))
        {
            LogOutput(logger, sync, Redact.Url(line));
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Sync}: exec hook: {Line}")]
    private static partial void LogOutput(ILogger logger, string sync, string line);
}
