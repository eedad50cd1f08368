using System.Runtime.InteropServices;
using ConfigSync.Configuration;
using ConfigSync.Diagnostics;
using ConfigSync.Hosting;
using ConfigSync.Publishing;
using ConfigSync.Sources;
using ConfigSync.Sync;
using Microsoft.Extensions.Logging;

namespace ConfigSync.Cli;

/// <summary>
/// <c>configsync publish</c>: writes each sync's source into the bucket or container prefix its <c>publish</c>
/// names, the index object last, for a fleet that reads it with <c>source.index</c>. Once (a CI job: the objects the
/// new index retired are deleted after <c>publish.gracePeriod</c>, then it exits), or with <c>--watch</c> at every
/// interval (one Deployment; see <see cref="PublishWatch"/>).
/// </summary>
internal static partial class PublishCommand
{
    public static async Task<int> RunAsync(DaemonSettings settings, bool watch)
    {
        using var stop = new CancellationTokenSource();
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        using var loggerFactory = LoggerFactory.Create(b => Logging.Configure(b, settings.Log));
        var logger = loggerFactory.CreateLogger("ConfigSync.Publish");
        var metrics = new SyncMetrics();
        var publishers = new List<(SyncSettings Sync, IConfigSource Source, IObjectStore Store, IndexPublisher Publisher, SourceMeter Meter)>();
        try
        {
            foreach (var sync in settings.Syncs)
            {
                PrivateFolder.Create(settings.StateDir, settings.StateDirOf(sync));
                var meter = new SourceMeter(sync.Name, metrics);
                var context = new SourceContext(sync.Name, settings.StateDirOf(sync), loggerFactory, TimeProvider.System) { MaxEntries = sync.MaxFiles, Meter = meter };
                var source = sync.Source.Factory.Create(sync.Source.Options, context);
                var store = sync.Publish!.Factory.CreateStore(sync.Publish.Options, context)!;
                publishers.Add((sync, source, store, new IndexPublisher(source, store, sync.Publish.Index, sync.MaxFiles, sync.MaxBytes, TimeProvider.System), meter));
            }

            if (watch)
            {
                var loops = publishers.Select(p => new PublishWatch.Loop(p.Sync, p.Store, p.Publisher, p.Meter, metrics, logger)).ToList();
                return await PublishWatch.RunAsync(settings, loops, metrics, logger, stop.Token) ? ExitCodes.Success : ExitCodes.SyncFailed;
            }

            var results = await Task.WhenAll(publishers.Select(p => OnceAsync(p.Sync, p.Store, p.Publisher, logger, stop.Token)));
            return results.All(ok => ok) ? ExitCodes.Success : ExitCodes.SyncFailed;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return watch ? ExitCodes.Success : ExitCodes.SyncFailed;
        }
        catch (IOException e)
        {
            await Console.Error.WriteLineAsync($"configsync: {Errors.Describe(e)}");
            return ExitCodes.SyncFailed;
        }
        finally
        {
            foreach (var (_, source, store, _, _) in publishers)
            {
                await source.DisposeAsync();
                await store.DisposeAsync();
            }
        }
    }

    private static async Task<bool> OnceAsync(SyncSettings sync, IObjectStore store, IndexPublisher publisher, ILogger logger, CancellationToken cancellationToken)
    {
        if (await PublishAsync(sync, store, publisher, logger, cancellationToken) is not { } result)
        {
            return false;
        }

        // The index is live: from here the run has succeeded. Retired objects not deleted now (stopped during the
        // grace, or the store failed) stay listed in the index, and a later run deletes them.
        if (result.Retired.Count > 0)
        {
            LogWaiting(logger, sync.Name, result.Retired.Count, sync.Publish!.GracePeriod);
            try
            {
                await Task.Delay(sync.Publish.GracePeriod, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                LogDeletionsLeft(logger, sync.Name, result.Retired.Count);
                return true;
            }

            if (!await DeleteAsync(sync, publisher, result.Retired, logger, cancellationToken))
            {
                LogDeletionsLeft(logger, sync.Name, result.Retired.Count);
            }
        }

        return true;
    }

    /// <summary>One publish, logged; null when it failed (logged, the index unchanged).</summary>
    internal static async Task<IndexPublishResult?> PublishAsync(SyncSettings sync, IObjectStore store, IndexPublisher publisher, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            var result = await publisher.PublishAsync(cancellationToken);
            if (result.Changed)
            {
                LogPublished(logger, sync.Name, result.Revision, store.Describe, result.Uploaded, result.Objects, sync.Publish!.Index);
            }
            else
            {
                LogUnchanged(logger, sync.Name, result.Revision, store.Describe);
            }

            return result;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Named failures (SourceException, PublishException) and anything a source or an SDK throws: logged, never a crash.
            LogFailed(logger, sync.Name, Explain(e));
            return null;
        }
    }

    /// <summary>Deletes retired objects, logged; false when the store failed (logged).</summary>
    internal static async Task<bool> DeleteAsync(SyncSettings sync, IndexPublisher publisher, IReadOnlyCollection<string> keys, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            LogDeleted(logger, sync.Name, await publisher.DeleteRetiredAsync(keys, cancellationToken));
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogFailed(logger, sync.Name, Explain(e));
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Sync}: published revision {Revision} to {Store} ({Uploaded} uploaded, {Objects} objects; index '{Index}' written last)")]
    private static partial void LogPublished(ILogger logger, string sync, string revision, string store, int uploaded, int objects, string index);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Sync}: {Store} already holds revision {Revision}")]
    private static partial void LogUnchanged(ILogger logger, string sync, string revision, string store);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Sync}: {Count} objects the index retired are deleted after the grace period ({Grace})")]
    private static partial void LogWaiting(ILogger logger, string sync, int count, TimeSpan grace);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Sync}: the index is live; {Count} retired objects are left for a later run to delete")]
    private static partial void LogDeletionsLeft(ILogger logger, string sync, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Sync}: deleted {Count} objects the index retired")]
    private static partial void LogDeleted(ILogger logger, string sync, int count);

    /// <summary>A failure in one line: a named failure's own message, else the exception and its causes; redacted.</summary>
    internal static string Explain(Exception e) => e is SourceException or PublishException or RevisionRejectedException ? Redact.Url(e.Message) : Errors.Describe(e);

    /// <summary>Logs a failed publish.</summary>
    internal static void LogFailure(ILogger logger, string sync, string error) => LogFailed(logger, sync, error);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Sync}: publish failed, the index was not changed: {Error}")]
    private static partial void LogFailed(ILogger logger, string sync, string error);
}
