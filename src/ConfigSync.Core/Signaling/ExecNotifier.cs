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
        var environment = new Dictionary<string, string>
        {
            ["CONFIGSYNC_SYNC"] = payload.Sync,
            ["CONFIGSYNC_REVISION"] = payload.Revision,
            ["CONFIGSYNC_PREVIOUS_REVISION"] = payload.PreviousRevision ?? string.Empty,
            ["CONFIGSYNC_PATH"] = payload.Path,
        };
        foreach (var (name, value) in settings.ExecEnv)
        {
            environment[name] = payload.Expand(value);
        }

        ProcessResult result;
        try
        {
            result = await ChildProcess.RunAsync(settings.ExecCommand, settings.ExecInTree ? payload.Path : workingDirectory, environment, cancellationToken: cancellationToken);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new SignalException($"{Describe} could not be started: {e.Message}");
        }

        if (result.ExitCode != 0)
        {
            var tail = result.Tail();
            throw new SignalException($"{Describe} exited with {result.ExitCode}{(tail.Length > 0 ? ": " + tail : string.Empty)}");
        }

        foreach (var line in result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Take(20))
        {
            LogOutput(logger, sync, Redact.Url(line));
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Sync}: exec hook: {Line}")]
    private static partial void LogOutput(ILogger logger, string sync, string line);
}
