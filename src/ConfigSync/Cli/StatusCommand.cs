using System.CommandLine;
using System.Globalization;
using System.Net.Http.Json;
using ConfigSync.Http;
using ConfigSync.Sync;

namespace ConfigSync.Cli;

/// <summary><c>configsync status</c>: asks a running daemon's <c>/status</c> and prints a table.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var command = new Command("status", "Print a table of a running daemon's syncs.");
        var url = new Option<string>("--url") { Description = "The daemon's HTTP address.", DefaultValueFactory = _ => "http://127.0.0.1:8081" };
        command.Options.Add(url);
        command.SetAction(async (result, cancellationToken) =>
        {
            var address = result.GetValue(url)!.TrimEnd('/');
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            StatusDocument? document;
            try
            {
                document = await http.GetFromJsonAsync($"{address}/status", StatusJsonContext.Default.StatusDocument, cancellationToken);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
            {
                await Console.Error.WriteLineAsync($"configsync: cannot read {Diagnostics.Redact.Url(address)}/status: {e.Message}");
                return ExitCodes.SyncFailed;
            }

            Console.Write(Format(document!, DateTimeOffset.UtcNow));
            return document!.Ready ? ExitCodes.Success : ExitCodes.SyncFailed;
        });
        return command;
    }

    internal static string Format(StatusDocument document, DateTimeOffset now)
    {
        var rows = new List<string[]> { new[] { "SYNC", "READY", "REVISION", "FILES", "BYTES", "LAST SUCCESS", "FAILURES", "LAST ERROR" } };
        foreach (var status in document.Syncs.Values.OrderBy(s => s.Name, StringComparer.Ordinal))
        {
            rows.Add(
            [
                status.Name,
                status.Ready ? "yes" : "no",
                status.Revision is { Length: > 12 } r ? r[..12] : status.Revision ?? "-",
                status.Files.ToString(CultureInfo.InvariantCulture),
                status.Bytes.ToString(CultureInfo.InvariantCulture),
                status.LastSuccess is { } success ? Ago(now - success) : "never",
                status.ConsecutiveFailures.ToString(CultureInfo.InvariantCulture),
                status.LastError ?? "-",
            ]);
        }

        var widths = Enumerable.Range(0, rows[0].Length).Select(i => rows.Max(r => r[i].Length)).ToArray();
        var text = new System.Text.StringBuilder();
        foreach (var row in rows)
        {
            text.AppendLine(string.Join("  ", row.Select((cell, i) => i == row.Length - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd());
        }

        return text.ToString();
    }

    private static string Ago(TimeSpan span) =>
        span.TotalSeconds < 1 ? "just now" : Configuration.DurationParser.Format(TimeSpan.FromSeconds(Math.Floor(span.TotalSeconds))) + " ago";
}
