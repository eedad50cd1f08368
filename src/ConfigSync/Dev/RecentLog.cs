using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace ConfigSync.Dev;

/// <summary>
/// Keeps the last log lines in memory for the dev console's live view, which owns the terminal: a console
/// logger writing beside it would tear the display.
/// </summary>
/// <param name="time">The clock (local time of day on each line).</param>
internal sealed class RecentLog(TimeProvider time) : ILoggerProvider
{
    private const int Capacity = 8;
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => [.. _lines];

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private string Now => time.GetLocalNow().ToString("HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);

    private void Add(string line)
    {
        _lines.Enqueue(line);
        while (_lines.Count > Capacity && _lines.TryDequeue(out _))
        {
        }
    }

    private sealed class Logger(RecentLog log) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var level = logLevel switch
            {
                LogLevel.Warning => "warn",
                LogLevel.Error or LogLevel.Critical => "fail",
                LogLevel.Debug or LogLevel.Trace => "dbug",
                _ => "info",
            };
            log.Add($"{log.Now} {level}: {formatter(state, exception)}");
        }
    }
}
