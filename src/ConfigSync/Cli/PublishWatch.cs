using ConfigSync.Configuration;
using ConfigSync.Diagnostics;
using ConfigSync.Publishing;
using ConfigSync.Sources;
using ConfigSync.Sync;
using Prometheus;

namespace ConfigSync.Cli;

/// <summary>
/// <c>configsync publish --watch</c>: one loop per sync that publishes at every interval (backing off after a failure,
/// and at least an origin's <c>Retry-After</c> after a throttled one) and deletes retired objects once their grace
/// has passed; and, on <c>http.listen</c>, <c>/healthz</c> (every loop turns), <c>/readyz</c> (every sync's index
/// is live) and <c>/metrics</c>.
/// </summary>
internal static partial class PublishWatch
{
    public static async Task<bool> RunAsync(DaemonSettings settings, IReadOnlyList<Loop> loops, SyncMetrics metrics, ILogger logger, CancellationToken cancellationToken)
    {
        WebApplication? app = null;
        if (settings.Http.Enabled)
        {
            app = Http(settings, loops, metrics);
            try
            {
                await app.StartAsync(cancellationToken);
            }
            catch (IOException e)
            {
                LogListenFailed(logger, $"{settings.Http.Host}:{settings.Http.Port}", e.Message);
                await app.DisposeAsync();
                return false;
            }
        }

        try
        {
            // A loop that reaches its maxFailures stops every loop: the process exits 1, as run's volume syncs do.
            using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            await Task.WhenAll(loops.Select(async loop =>
            {
                try
                {
                    await loop.RunAsync(stopping.Token);
                }
                catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                {
                    // stopped mid-publish: SIGTERM, or another loop gave up
                }

                if (loop.GaveUp)
                {
                    await stopping.CancelAsync();
                }
            }));
            return !loops.Any(l => l.GaveUp);
        }
        finally
        {
            if (app is not null)
            {
                await app.StopAsync(CancellationToken.None);
                await app.DisposeAsync();
            }
        }
    }

    private static WebApplication Http(DaemonSettings settings, IReadOnlyList<Loop> loops, SyncMetrics metrics)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        Hosting.DaemonHost.UseKestrel(builder, settings.Http);
        var app = builder.Build();
        app.MapGet("/healthz", () => loops.All(l => !l.IsWedged(DateTimeOffset.UtcNow)) ? Results.Text("ok") : Results.Text("a publish loop is stuck", statusCode: StatusCodes.Status503ServiceUnavailable));
        app.MapGet("/readyz", () => loops.All(l => l.Ready) ? Results.Text("ok") : Results.Text("not every index is live yet", statusCode: StatusCodes.Status503ServiceUnavailable));
        app.MapGet("/metrics", async context =>
        {
            metrics.Ready.Set(loops.All(l => l.Ready) ? 1 : 0);
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await metrics.Registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
        });
        return app;
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "{Sync}: {Failures} failed publishes in a row reached maxFailures; stopping with exit code 1")]
    private static partial void LogGivingUp(ILogger logger, string sync, int failures);

    [LoggerMessage(Level = LogLevel.Critical, Message = "ConfigSync cannot start: cannot listen on {Listen} (http.listen): {Reason}")]
    private static partial void LogListenFailed(ILogger logger, string listen, string reason);

    /// <summary>One sync's publish loop.</summary>
    internal sealed class Loop(SyncSettings sync, IObjectStore store, IndexPublisher publisher, SourceMeter meter, SyncMetrics metrics, ILogger logger)
    {
        private readonly Dictionary<string, DateTimeOffset> _due = new(StringComparer.Ordinal);
        private long _deadline = DateTimeOffset.MaxValue.UtcTicks;
        private string? _revision;
        private int _failures;

        /// <summary>Whether the index is live (published, or found already holding the source's revision).</summary>
        public bool Ready { get; private set; }

        /// <summary>Whether the failures in a row reached the sync's <c>maxFailures</c>; the loop has then ended.</summary>
        public bool GaveUp { get; private set; }

        /// <summary>Whether the loop is stuck: a publish far past its timeout, or no turn long after the wait it chose.</summary>
        public bool IsWedged(DateTimeOffset now) => now.UtcTicks > Interlocked.Read(ref _deadline);

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var slack = sync.Timeout + TimeSpan.FromSeconds(30);
                Interlocked.Exchange(ref _deadline, (DateTimeOffset.UtcNow + slack).UtcTicks);
                TimeSpan delay;
                using (var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    attempt.CancelAfter(sync.Timeout);
                    delay = await TurnAsync(attempt.Token, cancellationToken);
                }

                if (sync.MaxFailures > 0 && _failures >= sync.MaxFailures)
                {
                    GaveUp = true;
                    LogGivingUp(logger, sync.Name, _failures);
                    return;
                }

                Interlocked.Exchange(ref _deadline, (DateTimeOffset.UtcNow + delay + slack).UtcTicks);
                try
                {
                    await Task.Delay(delay, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return; // stopped: SIGTERM, or another loop gave up
                }
            }
        }

        private async Task<TimeSpan> TurnAsync(CancellationToken attempt, CancellationToken stopping)
        {
            IndexPublishResult? result;
            try
            {
                result = await PublishCommand.PublishAsync(sync, store, publisher, logger, attempt);
            }
            catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
            {
                PublishCommand.LogFailure(logger, sync.Name, $"the publish took longer than timeout ({DurationParser.Format(sync.Timeout)})");
                result = null;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Whatever a source or an SDK throws, the loop goes on (an exception would stop the process).
                PublishCommand.LogFailure(logger, sync.Name, PublishCommand.Explain(e));
                result = null;
            }

            var throttling = meter.Take();
            if (result is null)
            {
                metrics.SyncTotal.WithLabels(sync.Name, "error").Inc();
                metrics.ConsecutiveFailures.WithLabels(sync.Name).Set(++_failures);
                var backoff = Backoff.AfterFailures(_failures, sync.Interval, Random.Shared.NextDouble());
                return throttling is null ? backoff : Backoff.AfterThrottling(backoff, throttling.RetryAfter);
            }

            metrics.SyncTotal.WithLabels(sync.Name, result.Changed ? "changed" : "unchanged").Inc();
            metrics.ConsecutiveFailures.WithLabels(sync.Name).Set(_failures = 0);
            metrics.LastSuccess.WithLabels(sync.Name).Set(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0);
            metrics.Files.WithLabels(sync.Name).Set(result.Objects);
            metrics.SetRevision(sync.Name, _revision, result.Revision);
            _revision = result.Revision;
            Ready = true;

            // A retired object's grace runs from when the index retiring it was live.
            var now = DateTimeOffset.UtcNow;
            foreach (var key in _due.Keys.Except(result.Retired, StringComparer.Ordinal).ToList())
            {
                _due.Remove(key); // named again, or gone
            }

            foreach (var key in result.Retired)
            {
                _due.TryAdd(key, now + sync.Publish!.GracePeriod);
            }

            var expired = _due.Where(d => d.Value <= now).Select(d => d.Key).ToList();
            if (expired.Count > 0 && await PublishCommand.DeleteAsync(sync, publisher, expired, logger, attempt))
            {
                expired.ForEach(k => _due.Remove(k));
            }

            return Backoff.Jittered(sync.Interval, sync.Jitter, Random.Shared.NextDouble());
        }
    }
}
