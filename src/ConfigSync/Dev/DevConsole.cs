using System.Globalization;
using ConfigSync.Configuration;
using ConfigSync.Hosting;
using ConfigSync.Sync;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace ConfigSync.Dev;

/// <summary>
/// <c>configsync dev</c>: the daemon's engine, run from a developer's shell, with a live view of every sync
/// (state, revision, last change, next poll, a progress bar while a tree is written) on a terminal, and one
/// plain line per event when stdout is not a terminal. Ctrl+C stops it like SIGTERM stops the daemon.
/// </summary>
internal sealed class DevConsole(SyncEngine engine, RecentLog? log, TextWriter output) : BackgroundService
{
    private static readonly TimeSpan Refresh = TimeSpan.FromMilliseconds(250);
    private readonly Dictionary<string, SyncStatus> _seen = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _progressPrinted = new(StringComparer.Ordinal);

    public static Task<int> RunAsync(DaemonSettings settings, bool plain, CancellationToken cancellationToken)
    {
        var log = plain ? null : new RecentLog(TimeProvider.System);
        return DaemonHost.RunAsync(settings, cancellationToken, new HostExtras
        {
            Services = services => services.AddHostedService(sp => new DevConsole(sp.GetRequiredService<SyncEngine>(), log, Console.Out)),
            Logging = log is null ? null : builder => Logging.Configure(builder, settings.Log, log),
        });
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (log is null)
        {
            await PlainAsync(stoppingToken);
            return;
        }

        await AnsiConsole.Live(View()).AutoClear(false).Overflow(VerticalOverflow.Ellipsis).StartAsync(async context =>
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                context.UpdateTarget(View());
                await Task.Delay(Refresh, engine.Time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }

            context.UpdateTarget(View(stopped: true));
        });
    }

    private async Task PlainAsync(CancellationToken stoppingToken)
    {
        await output.WriteLineAsync($"configsync dev: {engine.Settings.Syncs.Count} sync(s) into {string.Join(", ", engine.Settings.Syncs.Select(s => Path.Combine(s.Target.Root, s.Target.Link)))}; Ctrl+C stops");
        while (!stoppingToken.IsCancellationRequested)
        {
            foreach (var line in Events(engine.Time.GetUtcNow()))
            {
                await output.WriteLineAsync(line);
            }

            await output.FlushAsync(CancellationToken.None);
            await Task.Delay(Refresh, engine.Time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        await output.WriteLineAsync("configsync dev: stopped");
    }

    /// <summary>The plain lines for what changed since the last look: publishes, failures, and progress at most once a second.</summary>
    internal IEnumerable<string> Events(DateTimeOffset now)
    {
        var time = now.ToLocalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture);
        foreach (var status in engine.Statuses)
        {
            _seen.TryGetValue(status.Name, out var before);
            _seen[status.Name] = status;
            if (status.Revision is { } revision && (before?.Revision != revision || before.LastChange != status.LastChange))
            {
                yield return $"{time} {status.Name} published {Short(revision)}: {Changes(status.LastChanges)} ({Tree(status)})";
            }

            if (status.LastError is { } error && (before?.LastError != error || before.ConsecutiveFailures != status.ConsecutiveFailures))
            {
                yield return $"{time} {status.Name} failed ({status.ConsecutiveFailures} in a row): {error}";
            }

            if (status.Transfer is { } transfer && (!_progressPrinted.TryGetValue(status.Name, out var last) || now - last >= TimeSpan.FromSeconds(1)))
            {
                _progressPrinted[status.Name] = now;
                yield return $"{time} {status.Name} writing {Progress(transfer)}";
            }
        }
    }

    private IRenderable View(bool stopped = false)
    {
        var now = engine.Time.GetUtcNow();
        var table = new Table().Border(TableBorder.Rounded).Expand()
            .AddColumns("Sync", "State", "Revision", "Last change", "Tree", "Next poll");
        var rows = new List<IRenderable> { new Markup($"[bold]ConfigSync dev[/] [grey]{(stopped ? "stopped" : "Ctrl+C stops")}[/]"), table };
        foreach (var status in engine.Statuses)
        {
            table.AddRow(
                new Text(status.Name),
                new Markup(State(status)),
                new Text(status.Revision is { } r ? Short(r) : "-"),
                new Text(status.Revision is null ? "-" : $"{Changes(status.LastChanges)}, {Ago(now - (status.LastChange ?? now))}"),
                new Text(status.Revision is null ? "-" : Tree(status)),
                new Text(status.Syncing || stopped ? "-" : status.NextAttempt is { } next ? In(next - now) : "-"));
            if (status.Transfer is { } transfer)
            {
                rows.Add(new Markup($"{Markup.Escape(status.Name)} [green]{Bar(transfer)}[/] {Markup.Escape(Progress(transfer))}"));
            }

            if (status.LastError is { } error)
            {
                rows.Add(new Markup($"[red]{Markup.Escape(status.Name)}: {Markup.Escape(error)}[/]"));
            }
        }

        rows.AddRange(log!.Lines.Select(line => new Markup($"[grey]{Markup.Escape(line)}[/]")));
        return new Rows(rows);
    }

    private static string State(SyncStatus status) => status switch
    {
        { Transfer: not null } => "[blue]writing[/]",
        { Syncing: true } => "[blue]syncing[/]",
        { LastError: not null } => $"[red]failed ({status.ConsecutiveFailures})[/]",
        { Revision: null } => "[grey]waiting[/]",
        _ => "[green]synced[/]",
    };

    internal static string Bar(TransferState transfer, int width = 30)
    {
        var fraction = transfer.Bytes > 0 ? (double)transfer.BytesDone / transfer.Bytes : transfer.Files > 0 ? (double)transfer.FilesDone / transfer.Files : 0;
        var filled = (int)Math.Round(Math.Clamp(fraction, 0, 1) * width);
        return new string('█', filled) + new string('░', width - filled) + string.Create(CultureInfo.InvariantCulture, $" {Math.Round(Math.Clamp(fraction, 0, 1) * 100)}%");
    }

    internal static string Progress(TransferState transfer) =>
        string.Create(CultureInfo.InvariantCulture, $"{transfer.FilesDone}/{transfer.Files} files, {Bytes(transfer.BytesDone)}/{Bytes(transfer.Bytes)}");

    internal static string Changes(TreeChange? change) =>
        change is null ? "kept from the last run" : string.Create(CultureInfo.InvariantCulture, $"+{change.Added} ~{change.Changed} -{change.Removed}");

    internal static string Bytes(long bytes) => bytes switch
    {
        < 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
        < 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.#} KiB"),
        < 1024L * 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):0.#} MiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024 * 1024):0.##} GiB"),
    };

    private static string Tree(SyncStatus status) => string.Create(CultureInfo.InvariantCulture, $"{status.Files} files, {Bytes(status.Bytes)}");

    private static string Short(string revision) => revision.Length > 12 ? revision[..12] : revision;

    private static string Ago(TimeSpan span) => span < TimeSpan.FromSeconds(1) ? "just now" : DurationParser.Format(TimeSpan.FromSeconds(Math.Floor(span.TotalSeconds))) + " ago";

    private static string In(TimeSpan span) => span <= TimeSpan.Zero ? "now" : "in " + DurationParser.Format(TimeSpan.FromSeconds(Math.Ceiling(span.TotalSeconds)));
}
