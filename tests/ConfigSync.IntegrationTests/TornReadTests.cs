using System.Diagnostics;
using System.Net;
using System.Text.Json;
using ConfigSync.IntegrationTests.Support;
using Xunit.Abstractions;

namespace ConfigSync.IntegrationTests;

/// <summary>
/// Torn reads, across processes: while the daemon publishes two thousand revisions (each writes its
/// number into every file), a separate reader process (Support/torn_reader.py) walks and reads the
/// whole live tree in a loop, as an app would. It must never see two revisions in one walk, a
/// missing file or a partial file.
/// </summary>
[Collection(TimingCollection.Name)]
public sealed class TornReadTests(ITestOutputHelper output) : IDisposable
{
    private const int Files = 40;
    private const int Size = 4096;
    private const int Revisions = 2000;
    private readonly Scenario _scenario = new();

    public void Dispose() => _scenario.Dispose();

    [Fact]
    public async Task AReaderProcess_NeverSeesAMixedMissingOrPartialTree_AcrossTwoThousandSwaps()
    {
        WriteRevision(0);
        var config = _scenario.WriteConfig(interval: "1h");
        await using var daemon = Daemon.Start(["run", "--config", config]);
        using var http = new DaemonHttp(_scenario.Port);
        await http.WaitUntilReadyAsync(daemon, TimeSpan.FromSeconds(30));

        var stop = _scenario.Temp.Combine("stop-reading");
        var start = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { Path.Combine(Daemon.RepoRoot, "tests", "ConfigSync.IntegrationTests", "Support", "torn_reader.py"), _scenario.Root, $"{Files}", $"{Size}", stop })
        {
            start.ArgumentList.Add(argument);
        }

        using var reader = Process.Start(start)!;
        var readerOutput = reader.StandardOutput.ReadToEndAsync();
        var readerErrors = reader.StandardError.ReadToEndAsync();
        var swaps = 0;
        var revision = (await http.SyncStatusAsync("app")).GetProperty("revision").GetString();
        for (var k = 1; k <= Revisions && !reader.HasExited; k++)
        {
            // The source folder changes only between syncs, so each published tree is one revision.
            WriteRevision(k);
            Assert.Equal(HttpStatusCode.Accepted, await http.PostAsync("/sync/app"));
            var before = revision;
            await DaemonHttp.Eventually(async () => (revision = (await http.SyncStatusAsync("app")).GetProperty("revision").GetString()) != before, TimeSpan.FromSeconds(30), () => daemon.Output, pollMilliseconds: 2);
            swaps++;
        }

        File.WriteAllText(stop, string.Empty);
        await reader.WaitForExitAsync();
        var report = await readerOutput;
        Assert.True(reader.ExitCode == 0, report + await readerErrors);
        using var result = JsonDocument.Parse(report);
        var walks = result.RootElement.GetProperty("walks").GetInt32();
        var seen = result.RootElement.GetProperty("revisions").GetInt32();
        output.WriteLine($"{swaps} swaps, {walks} complete walks by the reader process, {seen} distinct revisions seen, anomalies: {result.RootElement.GetProperty("anomalies")}");

        Assert.Equal(Revisions, swaps);
        Assert.Empty(result.RootElement.GetProperty("anomalies").EnumerateArray());
        Assert.Equal(0, result.RootElement.GetProperty("absent").GetInt32());
        Assert.True(walks > 100 && seen > 50, $"the reader kept up with the swaps ({walks} walks, {seen} revisions seen)");
    }

    private void WriteRevision(int k)
    {
        var text = $"revision {k}\n".PadRight(Size, '.');
        for (var i = 0; i < Files; i++)
        {
            _scenario.Temp.Write($"source/d{i % 4}/f{i}.txt", text);
        }
    }
}
