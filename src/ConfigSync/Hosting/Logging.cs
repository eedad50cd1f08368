using ConfigSync.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace ConfigSync.Hosting;

/// <summary>Console logging as configured: one line per event, or JSON.</summary>
internal static class Logging
{
    /// <summary>Sets level and filters, and logs to the console, or to <paramref name="instead"/> when given (the dev console's view).</summary>
    public static void Configure(ILoggingBuilder builder, LogSettings settings, ILoggerProvider? instead = null)
    {
        builder.ClearProviders();
        var level = settings.Level switch
        {
            "trace" => LogLevel.Trace,
            "debug" => LogLevel.Debug,
            "warn" => LogLevel.Warning,
            "error" => LogLevel.Error,
            _ => LogLevel.Information,
        };
        builder.SetMinimumLevel(level);
        builder.AddFilter("Microsoft", LogLevel.Warning);
        builder.AddFilter("Microsoft.AspNetCore.Server.Kestrel", LogLevel.Error);
        builder.AddFilter("Microsoft.Hosting.Lifetime", level <= LogLevel.Information ? LogLevel.Information : level);
        // An unready /readyz is the normal state before the first sync, and each probe would log an
        // error; the sync loop logs the failures that matter, once, with their cause.
        builder.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None);
        builder.AddFilter("System.Net.Http", LogLevel.Warning);
        builder.AddFilter("Polly", LogLevel.Warning);
        if (instead is not null)
        {
            builder.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
            builder.AddProvider(instead);
        }
        else if (settings.Format == "json")
        {
            builder.AddJsonConsole(o =>
            {
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.IncludeScopes = false;
            });
        }
        else
        {
            builder.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.ColorBehavior = LoggerColorBehavior.Disabled;
            });
        }

        // Logs go to stderr so that stdout stays clean for command output.
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    }
}
