using System.Net;
using ConfigSync.Configuration;
using ConfigSync.Diagnostics;
using ConfigSync.Health;
using ConfigSync.Http;
using ConfigSync.Sync;

namespace ConfigSync.Hosting;

/// <summary>The <c>run</c> command: the sync loops plus the HTTP surface on Kestrel, bound explicitly to <c>http.listen</c>.</summary>
internal static partial class DaemonHost
{
    public static async Task<int> RunAsync(DaemonSettings settings, CancellationToken cancellationToken)
    {
        // The empty builder: no configuration files or watchers, no host filtering, only Kestrel's core
        // and routing. ConfigSync reads its own settings; this saves start-up time and memory
        // (bench/runtime-bench.sh).
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        Logging.Configure(builder.Logging, settings.Log);
        builder.Services.AddRoutingCore();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            if (settings.Http.Host == "localhost")
            {
                kestrel.ListenLocalhost(settings.Http.Port);
            }
            else
            {
                kestrel.Listen(IPAddress.Parse(settings.Http.Host), settings.Http.Port);
            }
        });
        builder.Services.Configure<HostOptions>(o =>
        {
            o.ShutdownTimeout = TimeSpan.FromSeconds(25);
            o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.Ignore;
            // The first sync starts while Kestrel binds, not after: readiness comes sooner.
            o.ServicesStartConcurrently = true;
        });

        var metrics = new SyncMetrics();
        var time = TimeProvider.System;
        var exitCode = new ExitCodeHolder();
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(time);
        builder.Services.AddSingleton(exitCode);
        builder.Services.AddSingleton(metrics);
        builder.Services.AddSingleton(sp => new SyncEngine(settings, metrics, sp.GetRequiredService<ILoggerFactory>(), time));
        builder.Services.AddHostedService<SyncService>();
        builder.Services.AddHealthChecks()
            .AddCheck<LivenessCheck>("loop", tags: [LivenessCheck.Tag])
            .AddCheck<ReadinessCheck>("syncs", tags: [ReadinessCheck.Tag]);

        await using var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ConfigSync");
        var engine = app.Services.GetRequiredService<SyncEngine>();
        try
        {
            engine.Initialize();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogStartFailed(logger, Errors.Describe(e));
            return ExitCodes.SyncFailed;
        }

        Endpoints.Map(app, engine, new TriggerAuthorization(settings.Http.TriggerTokenFile), new WebhookEndpoint(engine, app.Services.GetRequiredService<ILogger<WebhookEndpoint>>()));
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException e)
        {
            LogStartFailed(logger, $"cannot listen on {settings.Http.Host}:{settings.Http.Port} (http.listen): {e.Message}");
            return ExitCodes.SyncFailed;
        }

        LogStarted(logger, settings.Syncs.Count, $"{settings.Http.Host}:{settings.Http.Port}");
        await app.WaitForShutdownAsync(cancellationToken);
        return exitCode.Code;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "ConfigSync started: {Syncs} sync(s); HTTP on {Listen}")]
    private static partial void LogStarted(ILogger logger, int syncs, string listen);

    [LoggerMessage(Level = LogLevel.Critical, Message = "ConfigSync cannot start: {Reason}")]
    private static partial void LogStartFailed(ILogger logger, string reason);
}
