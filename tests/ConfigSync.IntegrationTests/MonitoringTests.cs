using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ConfigSync.IntegrationTests.Support;
using ConfigSync.Tests.TestSupport;

namespace ConfigSync.IntegrationTests;

/// <summary>
/// The chart's monitoring: the PrometheusRule as helm renders it passes `promtool check rules` and
/// the synthetic series of tests/alerts/configsync-alerts.test.yaml (`promtool test rules`, from
/// Debian's prometheus package); the Grafana dashboard's queries are valid PromQL (checked by
/// promtool as recording rules, Grafana's variables filled in); every metric either names is one
/// the daemon serves.
/// </summary>
public sealed partial class MonitoringTests
{
    private static readonly string Chart = Path.Combine(Daemon.RepoRoot, "charts", "config-sync");

    [Fact]
    public async Task RenderedRules_PassPromtoolCheckAndTheirUnitTests()
    {
        using var temp = new TempFolder();
        File.WriteAllText(temp.Combine("rules.yaml"), await RulesAsync()); // JSON is YAML
        File.Copy(Path.Combine(Daemon.RepoRoot, "tests", "alerts", "configsync-alerts.test.yaml"), temp.Combine("configsync-alerts.test.yaml"));

        var check = await PromtoolAsync(temp.Path, "check", "rules", "rules.yaml");
        var test = await PromtoolAsync(temp.Path, "test", "rules", "configsync-alerts.test.yaml");

        Assert.True(check.Code == 0, check.Output);
        Assert.Contains("6 rules found", check.Output, StringComparison.Ordinal);
        Assert.True(test.Code == 0, test.Output);
    }

    [Fact]
    public async Task RuleUnitTests_FailWhenARuleIsWrong()
    {
        // The control: the same unit tests against a rule with another threshold must fail.
        using var temp = new TempFolder();
        File.WriteAllText(temp.Combine("rules.yaml"), await RulesAsync("--set", "prometheusRule.consecutiveFailures=5"));
        File.Copy(Path.Combine(Daemon.RepoRoot, "tests", "alerts", "configsync-alerts.test.yaml"), temp.Combine("configsync-alerts.test.yaml"));

        var test = await PromtoolAsync(temp.Path, "test", "rules", "configsync-alerts.test.yaml");

        Assert.NotEqual(0, test.Code);
        Assert.Contains("ConfigSyncFailing", test.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dashboard_IsAGrafanaDashboardInAConfigMapForTheSidecar_AndEveryQueryIsValidPromQL()
    {
        var (labels, dashboard) = await DashboardAsync();
        var queries = Queries(dashboard);
        using var temp = new TempFolder();
        var rules = new JsonArray(queries.Select((q, i) => (JsonNode)new JsonObject { ["record"] = $"dashboard:query{i}", ["expr"] = Concrete(q) }).ToArray());
        File.WriteAllText(temp.Combine("queries.yaml"), new JsonObject { ["groups"] = new JsonArray(new JsonObject { ["name"] = "dashboard", ["rules"] = rules }) }.ToJsonString());

        var check = await PromtoolAsync(temp.Path, "check", "rules", "queries.yaml");

        Assert.Equal("1", (string?)labels["grafana_dashboard"]);
        Assert.Equal("configsync", (string?)dashboard["uid"]);
        Assert.True(queries.Count >= 12, $"{queries.Count} queries");
        Assert.True(check.Code == 0, check.Output);
    }

    [Fact]
    public async Task EveryMetricTheRulesAndTheDashboardName_IsServedByTheDaemon()
    {
        var (_, dashboard) = await DashboardAsync();
        var names = MetricName().Matches(await RulesAsync() + string.Join('\n', Queries(dashboard)))
            .Select(m => HistogramSeries().Replace(m.Value, string.Empty)).Distinct().ToList();
        using var scenario = new Scenario();
        scenario.Temp.Write("source/app.yaml", "a: 1");
        await using var daemon = Daemon.Start(["run", "--config", scenario.WriteConfig()]);
        using var http = new DaemonHttp(scenario.Port);
        await http.WaitUntilReadyAsync(daemon, TimeSpan.FromSeconds(30));

        var metrics = await http.GetStringAsync("/metrics");

        Assert.True(names.Count >= 15, string.Join(", ", names));
        Assert.All(names, name => Assert.Contains($"# TYPE {name} ", metrics, StringComparison.Ordinal));
    }

    private static async Task<string> RulesAsync(params string[] extra)
    {
        var documents = await Helm.RenderAsync(Chart, ["--set", "prometheusRule.enabled=true", .. extra]);
        var rule = documents.Single(d => (string?)d["kind"] == "PrometheusRule");
        return new JsonObject { ["groups"] = rule["spec"]!["groups"]!.DeepClone() }.ToJsonString();
    }

    private static async Task<(JsonObject Labels, JsonNode Dashboard)> DashboardAsync()
    {
        var documents = await Helm.RenderAsync(Chart, "--set", "grafanaDashboard.enabled=true");
        var map = documents.Single(d => (string?)d["kind"] == "ConfigMap" && ((string)d["metadata"]!["name"]!).EndsWith("-dashboard", StringComparison.Ordinal));
        return (map["metadata"]!["labels"]!.AsObject(), JsonNode.Parse((string)map["data"]!["configsync.json"]!)!);
    }

    private static List<string> Queries(JsonNode dashboard) =>
        dashboard["panels"]!.AsArray().SelectMany(p => p!["targets"]!.AsArray()).Select(t => (string)t!["expr"]!).ToList();

    /// <summary>A dashboard query with Grafana's variables filled in as Grafana would.</summary>
    private static string Concrete(string query) =>
        query.Replace("$__rate_interval", "5m", StringComparison.Ordinal).Replace("$namespace", ".*", StringComparison.Ordinal)
            .Replace("$pod", ".*", StringComparison.Ordinal).Replace("$sync", ".*", StringComparison.Ordinal);

    private static async Task<(int Code, string Output)> PromtoolAsync(string folder, params string[] arguments)
    {
        var start = new ProcessStartInfo("promtool") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("promtool: run scripts/test-deps.sh (Debian's prometheus package)");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output + await error);
    }

    [GeneratedRegex(@"\bconfigsync_[a-z_]+[a-z]\b")]
    private static partial Regex MetricName();

    [GeneratedRegex("_(bucket|sum|count)$")]
    private static partial Regex HistogramSeries();
}
