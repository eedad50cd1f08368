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
    public static async Task<int> RunAsync(DaemonSettings settings, CancellationToken cancellationToken, HostExtras? extras = null)
    {
        extras ??= new HostExtras();
        if (!settings.Http.Enabled)
        {
            // http.listen: off (git-sync without --http-bind, configsync dev): the sync loops alone, no Kestrel.
            var headless = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = AppContext.BaseDirectory });
            AddServices(headless, settings, extras);
            using var host = headless.Build();
            return await RunAsync(host, settings, map: null, cancellationToken);
        }

        // The empty builder: no configuration files or watchers, no host filtering, only Kestrel's core
        // and routing. ConfigSync reads its own settings; this saves start-up time and memory
        // (bench/runtime.py, docs/benchmarks.md).
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        AddServices(builder, settings, extras);
        UseKestrel(builder, settings.Http);
        builder.Services.AddHealthChecks()
            .AddCheck<LivenessCheck>("loop", tags: [LivenessCheck.Tag])
            .AddCheck<ReadinessCheck>("syncs", tags: [ReadinessCheck.Tag]);

        await using var app = builder.Build();
        return await RunAsync(app, settings, engine => MapEndpoints(app, settings, engine, extras), cancellationToken);
    }

    /// <summary>Kestrel's core and routing on <c>http.listen</c>, bound explicitly (never the 8080 .NET images set), no Server header.</summary>
    internal static void UseKestrel(WebApplicationBuilder builder, HttpSettings http)
    {
        builder.Services.AddRoutingCore();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            if (http.Host == "localhost")
            {
                kestrel.ListenLocalhost(http.Port);
            }
            else
            {
                kestrel.Listen(IPAddress.Parse(http.Host), http.Port);
            }
        });
    }

    private static void AddServices(IHostApplicationBuilder builder, DaemonSettings settings, HostExtras extras)
    {
        if (extras.Logging is { } logging)
        {
            logging(builder.Logging);
        }
        else
        {
            Logging.Configure(builder.Logging, settings.Log);
        }

        builder.Services.Configure<HostOptions>(o =>
        {
            o.ShutdownTimeout = TimeSpan.FromSeconds(25);
            o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.Ignore;
            // The first sync starts while Kestrel binds, not after: readiness comes sooner.
            o.ServicesStartConcurrently = true;
        });

        var metrics = new SyncMetrics();
        var time = TimeProvider.System;
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(time);
        builder.Services.AddSingleton(new ExitCodeHolder());
        builder.Services.AddSingleton(metrics);
        builder.Services.AddSingleton(sp => new SyncEngine(settings, metrics, sp.GetRequiredService<ILoggerFactory>(), time));
        builder.Services.AddHostedService<SyncService>();
        extras.Services?.Invoke(builder.Services);
    }

    private static void MapEndpoints(WebApplication app, DaemonSettings settings, SyncEngine engine, HostExtras extras)
    {
        Endpoints.Map(app, engine, new TriggerAuthorization(settings.Http.TriggerTokenFile), new WebhookEndpoint(engine, app.Services.GetRequiredService<ILogger<WebhookEndpoint>>()));
        if (extras.RootAnswersReadiness)
        {
            // git-sync's --http-bind: "/" answers 503 until the first sync, then 200.
            app.MapGet("/", () => engine.IsReady(engine.Time.GetUtcNow()) ? Results.Ok() : Results.Text("repo is not ready", statusCode: StatusCodes.Status503ServiceUnavailable));
        }
    }

    private static async Task<int> RunAsync(IHost host, DaemonSettings settings, Action<SyncEngine>? map, CancellationToken cancellationToken)
    {
        var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ConfigSync");
        var engine = host.Services.GetRequiredService<SyncEngine>();
        try
        {
            engine.Initialize();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Publishing.PublishException)
        {
            LogStartFailed(logger, Errors.Describe(e));
            return ExitCodes.SyncFailed;
        }

        map?.Invoke(engine);
        try
        {
            await host.StartAsync(cancellationToken);
        }
        catch (IOException e)
        {
            LogStartFailed(logger, $"cannot listen on {settings.Http.Host}:{settings.Http.Port} (http.listen): {e.Message}");
            return ExitCodes.SyncFailed;
        }

        LogStarted(logger, settings.Syncs.Count, settings.Http.Enabled ? $"HTTP on {settings.Http.Host}:{settings.Http.Port}" : "no HTTP (http.listen: off)");
        await host.WaitForShutdownAsync(cancellationToken);
        return host.Services.GetRequiredService<ExitCodeHolder>().Code;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "ConfigSync started: {Syncs} sync(s); {Listen}")]
    private static partial void LogStarted(ILogger logger, int syncs, string listen);

    [LoggerMessage(Level = LogLevel.Critical, Message = "ConfigSync cannot start: {Reason}")]
    private static partial void LogStartFailed(ILogger logger, string reason);
}

/// <summary>What a mode of the daemon adds to the host: the git-sync drop-in's <c>/</c>, the dev console's services and logging.</summary>
internal sealed record HostExtras
{
    /// <summary>Whether <c>GET /</c> answers 503 until every sync is ready, then 200 (git-sync's <c>--http-bind</c>).</summary>
    public bool RootAnswersReadiness { get; init; }

    /// <summary>More services (for example the dev console).</summary>
    public Action<IServiceCollection>? Services { get; init; }

    /// <summary>Logging in place of the configured console logging.</summary>
    public Action<ILoggingBuilder>? Logging { get; init; }
}
