using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ConfigSync.Sync;

/// <summary>Runs every sync's loop until the host stops; stops the host with exit code 1 when a sync reaches <c>maxFailures</c>.</summary>
public sealed partial class SyncService(SyncEngine engine, IHostApplicationLifetime lifetime, ExitCodeHolder exitCode, ILogger<SyncService> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Memory is the process's, not a sync's: one trimmer sees every loop's attempts.
        var trimmer = new HeapTrimmer();
        foreach (var runner in engine.Runners)
        {
            runner.MaxFailuresReached = () =>
            {
                exitCode.Code = ExitCodes.SyncFailed;
                lifetime.StopApplication();
            };
        }

        var loops = engine.Runners.Select(runner => Task.Run(() => RunGuardedAsync(runner, trimmer, stoppingToken), CancellationToken.None));
        await Task.WhenAll(loops);
    }

    private async Task RunGuardedAsync(SyncRunner runner, HeapTrimmer trimmer, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await runner.RunAsync(trimmer.AfterAttemptAsync, stoppingToken);
                return;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // A bug in one loop must not stop the host or the other syncs: log it and restart the loop.
                LogLoopCrashed(logger, runner.Name, e);
                await Task.Delay(TimeSpan.FromSeconds(1), engine.Time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Sync}: the sync loop failed unexpectedly; restarting it")]
    private static partial void LogLoopCrashed(ILogger logger, string sync, Exception exception);
}
