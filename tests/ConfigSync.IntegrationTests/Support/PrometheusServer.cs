using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ConfigSync.Sources.Git.Tests.TestSupport;

namespace ConfigSync.IntegrationTests.Support;

/// <summary>
/// A real Prometheus (Debian's package, which scripts/test-deps.sh installs) on 127.0.0.1, scraping one target every
/// second, with its data in a temporary folder. What a PodMonitor becomes once Prometheus Operator has turned it into a
/// scrape job: a target address and a metrics path.
/// </summary>
public sealed class PrometheusServer : IDisposable
{
    private readonly Process _process;
    private readonly TempFolder _data;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };

    private PrometheusServer(Process process, TempFolder data, int port)
    {
        _process = process;
        _data = data;
        _http.BaseAddress = new Uri($"http://127.0.0.1:{port}");
    }

    public static async Task<PrometheusServer> StartAsync(string job, string target, string metricsPath)
    {
        var data = new TempFolder();
        var config = data.Combine("prometheus.yml");
        await File.WriteAllTextAsync(config, $$"""
            global: { scrape_interval: 1s, scrape_timeout: 1s }
            scrape_configs:
              - job_name: "{{job}}"
                metrics_path: "{{metricsPath}}"
                static_configs: [{ targets: ["{{target}}"] }]
            """);
        var port = AppListener.FreePort();
        var process = Shell.Start("prometheus",
            [$"--config.file={config}", $"--storage.tsdb.path={data.Combine("tsdb")}", $"--web.listen-address=127.0.0.1:{port}"]);
        await Shell.WaitForPortAsync(port, process, "prometheus");
        return new PrometheusServer(process, data, port);
    }

    /// <summary>Waits until the instant query returns a sample whose value satisfies <paramref name="until"/>; returns the value.</summary>
    public async Task<double> EventuallyAsync(string query, Func<double, bool> until)
    {
        var last = "no answer";
        var value = double.NaN;
        await DaemonHttp.Eventually(
            async () =>
            {
                try
                {
                    last = await _http.GetStringAsync("/api/v1/query?query=" + Uri.EscapeDataString(query));
                    using var document = JsonDocument.Parse(last);
                    var result = document.RootElement.GetProperty("data").GetProperty("result");
                    if (result.GetArrayLength() == 0)
                    {
                        return false;
                    }

                    value = double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
                    return until(value);
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            },
            TimeSpan.FromSeconds(60),
            () => $"prometheus: {query}: {last}",
            pollMilliseconds: 500);
        return value;
    }

    public void Dispose()
    {
        Shell.Stop(_process);
        _http.Dispose();
        _data.Dispose();
    }
}
