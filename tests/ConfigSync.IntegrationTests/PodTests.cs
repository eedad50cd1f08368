using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConfigSync.IntegrationTests.Support;
using ConfigSync.Tests.TestSupport;

namespace ConfigSync.IntegrationTests;

/// <summary>
/// The examples and the chart's pods, run as pods: the image under test beside a stand-in for each
/// app (tests/containers/app.py), started in the kubelet's order by <see cref="KubeletPod"/>. The
/// ConfigSync configuration of each manifest is kept except its source, which becomes a folder the
/// test changes (the manifests' clouds and git servers are not reachable here), and its interval.
/// </summary>
[Collection(ContainerCollection.Name)]
public sealed class PodTests : IAsyncLifetime
{
    private const string SourceMount = "/test-source";
    private readonly TempFolder _temp = new();
    private readonly Podman _podman = new();
    private string _source = string.Empty;

    public async Task InitializeAsync()
    {
        await Podman.RequireImageAsync(Podman.Image);
        await Podman.RequireImageAsync(Podman.AppImage);
        File.SetUnixFileMode(_temp.Path, (UnixFileMode)0x1ED);
        _source = Directory.CreateDirectory(_temp.Combine("source")).FullName;
        File.SetUnixFileMode(_source, (UnixFileMode)0x1ED);
        Write("app.json", """{"version": 1}""");
    }

    public static TheoryData<string, string> Deployments => new()
    {
        { "native-sidecar-deployment.yaml", "native" },
        { "sidecar-deployment.yaml", "sidecar" },
    };

    [Theory]
    [MemberData(nameof(Deployments))]
    public async Task Example_AppReadsTheFilesAsAnotherUser_AndIsSignalledOverThePodsLoopbackOnChange(string example, string mode)
    {
        var (spec, configMaps) = Workload(Yaml.LoadAll(File.ReadAllText(Path.Combine(Daemon.RepoRoot, "examples", example))));
        await using var pod = Prepare(spec, configMaps, out var app);

        await pod.StartAsync([app.Port]);
        var first = await AppStateAsync(pod, app, s => s.GetProperty("files").TryGetProperty("app.json", out _));
        Write("app.json", """{"version": 2}""");
        var reloaded = await AppStateAsync(pod, app, s => s.GetProperty("reloads").EnumerateArray().Any(r => r.GetProperty("files").GetProperty("app.json").GetString()!.Contains('2', StringComparison.Ordinal)));

        AssertSeparateUsers(first, pod);
        Assert.Equal("""{"version": 1}""", first.GetProperty("files").GetProperty("app.json").GetString());
        if (mode == "native")
        {
            // The startupProbe held the app back: the stand-in exits 3 when it starts before the live link is
            // there and the pod's restartPolicy restarts it, so no restart means its first start found the files.
            Assert.Equal(0, await RestartsAsync(pod, app.Name));
        }

        var reload = reloaded.GetProperty("reloads").EnumerateArray().Last();
        Assert.Equal("127.0.0.1", reload.GetProperty("from").GetString()); // the pod's loopback
        Assert.Equal("""{"version": 2}""", reload.GetProperty("files").GetProperty("app.json").GetString());
    }

    [Theory]
    [InlineData("native")]
    [InlineData("sidecar")]
    [InlineData("init")]
    public async Task ChartDemo_InEachMode_WithFsGroup2000AndMode0440_AppReadsTheFilesThroughTheGroupOnly(string mode)
    {
        // fsGroup 2000, not ConfigSync's own gid 1654: the files reach the app only through the volume's group.
        var (spec, configMaps) = Workload(await Helm.RenderAsync(Path.Combine(Daemon.RepoRoot, "charts", "config-sync"),
            "--set", "demo.enabled=true", "--set", $"mode={mode}", "--set", "podSecurityContext.fsGroup=2000"));
        await using var pod = Prepare(spec, configMaps, out var app, fileMode: "0440");

        await pod.StartAsync([app.Port]);
        var state = await AppStateAsync(pod, app, s => s.GetProperty("files").TryGetProperty("app.json", out _));

        AssertSeparateUsers(state, pod);
        Assert.DoesNotContain(1654, state.GetProperty("groups").EnumerateArray().Select(g => g.GetInt32()));
        Assert.Equal("""{"version": 1}""", state.GetProperty("files").GetProperty("app.json").GetString());
        var published = Path.Combine(pod.VolumeFolder("config-sync-data"), "current", "app.json");
        Assert.Equal((UnixFileMode)0x120, File.GetUnixFileMode(published));
        if (mode != "sidecar")
        {
            Assert.Equal(0, await RestartsAsync(pod, app.Name)); // held back until the first sync was live
        }

        if (mode != "init")
        {
            Write("app.json", """{"version": 2}""");
            var reloaded = await AppStateAsync(pod, app, s => s.GetProperty("reloads").EnumerateArray().Any(r => r.GetProperty("files").GetProperty("app.json").GetString() == """{"version": 2}"""));
            Assert.Equal("127.0.0.1", reloaded.GetProperty("reloads").EnumerateArray().Last().GetProperty("from").GetString());
        }
    }

    [Fact]
    public async Task ConsumerChart_Pod_IsScrapedByARealPrometheus_AtWhatItsPodMonitorNames()
    {
        using var charts = new TempFolder();
        var documents = await Helm.RenderAsync(await ChartTests.ConsumerChartAsync(charts), "--namespace", "shop");
        var monitor = documents.Single(d => (string?)d["kind"] == "PodMonitor");
        var template = documents.Single(d => (string?)d["kind"] == "Deployment")["spec"]!["template"]!;
        // Prometheus Operator's part: the PodMonitor selects this pod and names a port of it (the native sidecar's).
        var (port, path) = ChartTests.PodMonitorTarget(monitor, template, "shop");
        var (spec, configMaps) = Workload(documents);
        await using var pod = Prepare(spec, configMaps, out var app);
        await pod.StartAsync([app.Port]);
        await AppStateAsync(pod, app, s => s.GetProperty("files").TryGetProperty("app.json", out _));

        // Prometheus's part, for real: it scrapes the pod at that port and path (every second, not the monitor's 30 s).
        using var prometheus = await PrometheusServer.StartAsync("podMonitor/shop/t-config-sync/0", $"127.0.0.1:{pod.HostPort(port)}", path);

        Assert.Equal(1, await prometheus.EventuallyAsync("up", v => v == 1));
        Assert.Equal(1, await prometheus.EventuallyAsync("configsync_ready", v => v == 1));
        Assert.True(await prometheus.EventuallyAsync("""configsync_last_success_timestamp_seconds{sync="web"}""", v => v > 0) > 1.7e9);
        // A change the pod syncs shows in what Prometheus stores.
        var before = await prometheus.EventuallyAsync("""sum(configsync_sync_total{sync="web",result="changed"})""", v => v >= 1);
        Write("app.json", """{"version": 2}""");
        await prometheus.EventuallyAsync("""sum(configsync_sync_total{sync="web",result="changed"})""", v => v > before);
    }

    [Theory]
    [InlineData("native", true)]
    [InlineData("sidecar", true)]
    [InlineData("sidecar", false)]
    public async Task HelmTestPod_PassesAgainstAReadyRelease_AndFailsAgainstOneThatIsNot(string mode, bool sourceThere)
    {
        var documents = await Helm.RenderAsync(Path.Combine(Daemon.RepoRoot, "charts", "config-sync"), "--set", "demo.enabled=true", "--set", $"mode={mode}");
        var test = documents.Single(d => (string?)d["kind"] == "Pod" && (string?)d["metadata"]!["annotations"]!["helm.sh/hook"] == "test")["spec"]!.AsObject();
        var service = documents.Single(d => (string?)d["kind"] == "Service");
        var template = documents.Single(d => (string?)d["kind"] == "Deployment")["spec"]!["template"]!;
        var (spec, configMaps) = Workload(documents);
        // The Service's part: it selects the demo pod, its name is the test's host, and its targetPort is the port
        // ConfigSync listens on (a number: the named port of a native sidecar was long not resolved into endpoints).
        var url = new Uri(test["containers"]![0]!["args"]!.AsArray().Select(a => (string)a!).Last());
        Assert.Equal((string)service["metadata"]!["name"]!, url.Host);
        Assert.All(service["spec"]!["selector"]!.AsObject(), l => Assert.Equal((string?)l.Value, (string?)template["metadata"]!["labels"]![l.Key]));
        var servicePort = service["spec"]!["ports"]!.AsArray().Single(p => KubeletPod.Int(p!["port"]) == url.Port)!;
        var syncer = (spec["initContainers"]?.AsArray() ?? []).Concat(spec["containers"]!.AsArray()).Single(c => (string?)c!["name"] == "config-sync")!;
        Assert.Equal(KubeletPod.Int(servicePort["targetPort"]), KubeletPod.Int(syncer["ports"]!.AsArray().Single(p => (string?)p!["name"] == "configsync")!["containerPort"]));
        spec["hostAliases"] = new JsonArray(new JsonObject { ["ip"] = "127.0.0.1", ["hostnames"] = new JsonArray(url.Host) });
        JsonObject? missing = sourceThere ? null : new JsonObject { ["type"] = "dir", ["path"] = SourceMount + "/not-there" };
        await using var pod = Prepare(spec, configMaps, out var app, source: missing);
        await pod.StartAsync([app.Port]);
        if (sourceThere)
        {
            await AppStateAsync(pod, app, s => s.GetProperty("files").TryGetProperty("app.json", out _));
        }

        var (code, log) = await pod.RunToEndAsync(test, TimeSpan.FromSeconds(60));

        // Not ready, a cluster would leave the Service without an endpoint and the pod would fail to connect; here it
        // reaches the daemon, which answers not ready: exit 1 either way.
        Assert.True(code == (sourceThere ? 0 : 1), $"exit {code}: {log}");
        if (sourceThere)
        {
            Assert.Matches(@"app-config\s+yes", log);
        }
    }

    [Fact]
    public async Task JobExample_WithANativeSidecar_Completes_AppReadsTheSecretsWithMode0440_SidecarExitsZeroOnSigterm()
    {
        var (spec, configMaps) = Workload(Yaml.LoadAll(File.ReadAllText(Path.Combine(Daemon.RepoRoot, "examples", "native-sidecar-job.yaml"))));
        Write("db.json", """{"password": "from-the-job"}""");
        await using var pod = Prepare(spec, configMaps, out var app, exitAfterRead: true);

        await pod.StartAsync();
        var codes = await pod.CompleteAsync(TimeSpan.FromMinutes(1));
        var logs = await Podman.LogsAsync(pod.ContainerName(app.Name));
        using var state = JsonDocument.Parse(logs.Split('\n').First(l => l.StartsWith('{')));

        Assert.Equal(0, codes[app.Name]);
        Assert.Equal(0, codes["config-sync"]);
        Assert.Equal("""{"password": "from-the-job"}""", state.RootElement.GetProperty("files").GetProperty("db.json").GetString());
        AssertSeparateUsers(state.RootElement, pod);
        var published = Path.Combine(pod.VolumeFolder("config-sync-data"), "current", "db.json");
        Assert.Equal((UnixFileMode)0x120, File.GetUnixFileMode(published)); // 0440: the app reads it through the group only
    }

    [Fact]
    public async Task JobExample_SourceUnreachable_FailsWithinItsDeadline_AppNeverStarts()
    {
        var documents = Yaml.LoadAll(File.ReadAllText(Path.Combine(Daemon.RepoRoot, "examples", "native-sidecar-job.yaml")));
        var job = documents.Single(d => (string?)d!["kind"] == "Job")!;
        var deadline = KubeletPod.Int(job["spec"]!["activeDeadlineSeconds"]);
        var (spec, configMaps) = Workload(documents);
        await using var pod = Prepare(spec, configMaps, out var app, exitAfterRead: true, source: new JsonObject { ["type"] = "git", ["url"] = "git://127.0.0.1:9/unreachable.git" });

        Assert.NotNull(deadline);
        Assert.InRange(deadline!.Value, 60, 3600); // longer than a slow first sync, shorter than forever

        // The Job controller fails the pod at activeDeadlineSeconds; here that deadline runs 40 times faster.
        var failed = await Assert.ThrowsAsync<PodFailedException>(() => pod.StartAsync(startupLimit: TimeSpan.FromSeconds(deadline.Value / 40.0)));
        var sidecar = await Podman.ExitCodeAsync(pod.ContainerName("config-sync"));

        Assert.Contains("startupProbe", failed.Message, StringComparison.Ordinal);
        Assert.Null(sidecar); // still running and retrying (not a configuration error that exited): only the deadline ends the Job
        Assert.Contains("sync failed", failed.Message, StringComparison.Ordinal);
        Assert.Contains("unreachable.git", failed.Message, StringComparison.Ordinal); // ConfigSync's log names the source
        Assert.Equal(1, (await Podman.RunAsync(["container", "exists", pod.ContainerName(app.Name)])).ExitCode); // the app never started
    }

    [Fact]
    public async Task NativeSidecar_KilledAndRestarted_AppKeepsItsFiles_AndTheSidecarIsReadyAtOnce()
    {
        var (spec, configMaps) = Workload(Yaml.LoadAll(File.ReadAllText(Path.Combine(Daemon.RepoRoot, "examples", "native-sidecar-deployment.yaml"))));
        await using var pod = Prepare(spec, configMaps, out var app);
        await pod.StartAsync([app.Port]);
        await AppStateAsync(pod, app, s => s.GetProperty("files").TryGetProperty("app.json", out _));
        Write("unrelated-but-unsynced.txt", "the source moves on while the sidecar is down");
        var gate = Path.Combine(_source, "app.json");
        File.SetUnixFileMode(gate, UnixFileMode.None); // unreadable: a sync after the restart fails, so ready can only come from the kept tree

        await pod.RestartAsync("config-sync");
        using var http = new DaemonHttp(pod.HostPort(8081));
        await DaemonHttp.Eventually(async () => await http.StatusOfAsync("/readyz") == HttpStatusCode.OK, TimeSpan.FromSeconds(30), () => "readyz after restart");
        var state = await AppStateAsync(pod, app, _ => true);
        var logs = await Podman.LogsAsync(pod.ContainerName("config-sync"));

        Assert.Equal("""{"version": 1}""", state.GetProperty("files").GetProperty("app.json").GetString());
        Assert.Contains("ready at once", logs, StringComparison.Ordinal);
        Assert.Equal(0, await RestartsAsync(pod, app.Name));
    }

    [Fact]
    public async Task LogShipperStyleSidecar_SharingTheEmptyDir_SeesEachRevisionAsTheAppDoes()
    {
        var (spec, configMaps) = Workload(Yaml.LoadAll(File.ReadAllText(Path.Combine(Daemon.RepoRoot, "examples", "native-sidecar-deployment.yaml"))));
        var shipper = spec["containers"]![0]!.DeepClone().AsObject();
        shipper["name"] = "log-shipper";
        shipper["ports"] = new JsonArray(new JsonObject { ["containerPort"] = 9090 });
        shipper["volumeMounts"]![0]!["mountPath"] = "/var/ship";
        spec["containers"]!.AsArray().Add(shipper);
        await using var pod = Prepare(spec, configMaps, out var app);

        await pod.StartAsync([app.Port]);
        var shipperApp = new App("log-shipper", 9090);
        var seen = await AppStateAsync(pod, shipperApp, s => s.GetProperty("files").TryGetProperty("app.json", out _));
        Write("app.json", """{"version": 2}""");
        var changed = await AppStateAsync(pod, shipperApp, s => s.GetProperty("files").GetProperty("app.json").GetString() == """{"version": 2}""");

        Assert.Equal("""{"version": 1}""", seen.GetProperty("files").GetProperty("app.json").GetString());
        Assert.Equal(0, await RestartsAsync(pod, "log-shipper"));
        AssertSeparateUsers(changed, pod);
    }

    public async Task DisposeAsync()
    {
        await _podman.DisposeAsync();
        _temp.Dispose();
    }

    /// <summary>The app container of a pod and what the stand-in needs to play it.</summary>
    private sealed record App(string Name, int Port);

    private void Write(string name, string content)
    {
        File.WriteAllText(Path.Combine(_source, name), content);
        File.SetUnixFileMode(Path.Combine(_source, name), (UnixFileMode)0x1A4);
    }

    private static (JsonObject Spec, Dictionary<string, JsonObject> ConfigMaps) Workload(IEnumerable<JsonNode?> documents)
    {
        var list = documents.Where(d => d is not null).Select(d => d!).ToList();
        var workload = list.Single(d => (string?)d["kind"] is "Deployment" or "Job");
        var configMaps = list.Where(d => (string?)d["kind"] == "ConfigMap").ToDictionary(d => (string)d["metadata"]!["name"]!, d => d["data"]!.AsObject().DeepClone().AsObject());
        return (workload["spec"]!["template"]!["spec"]!.DeepClone().AsObject(), configMaps);
    }

    /// <summary>
    /// Points the manifest's ConfigSync at the test's source folder (mounted read-only) with a 1 s
    /// interval, and plays each other container with the app stand-in: it reads the live link on the
    /// shared volume and answers the reload URL of the configuration's signal.
    /// </summary>
    private KubeletPod Prepare(JsonObject spec, Dictionary<string, JsonObject> configMaps, out App app, bool exitAfterRead = false, JsonObject? source = null, string? fileMode = null)
    {
        var syncer = (spec["initContainers"]?.AsArray() ?? []).Concat(spec["containers"]!.AsArray()).Select(c => c!.AsObject()).Single(c => (string?)c["name"] == "config-sync");
        var args = syncer["args"]!.AsArray().Select(a => (string)a!).ToList();
        var configPath = args[args.IndexOf("--config") + 1];
        var configMount = syncer["volumeMounts"]!.AsArray().Single(m => configPath.StartsWith((string)m!["mountPath"]! + "/", StringComparison.Ordinal))!;
        var configVolume = spec["volumes"]!.AsArray().Single(v => (string?)v!["name"] == (string)configMount["name"]!)!;
        var data = configMaps[(string)configVolume["configMap"]!["name"]!];
        var file = Path.GetFileName(configPath);
        var config = Yaml.Load((string)data[file]!)!.AsObject();
        var sync = config["syncs"]!.AsArray()[0]!.AsObject();
        sync["source"] = source ?? new JsonObject { ["type"] = "dir", ["path"] = SourceMount };
        sync["interval"] = "1s";
        sync["signal"] ??= new JsonObject { ["url"] = "http://127.0.0.1:8080/-/reload" };
        if (fileMode is not null)
        {
            sync["target"]!["fileMode"] = fileMode;
        }

        data[file] = config.ToJsonString(); // JSON is YAML
        syncer["volumeMounts"]!.AsArray().Add(new JsonObject { ["name"] = "test-source", ["mountPath"] = SourceMount, ["readOnly"] = true });
        spec["volumes"]!.AsArray().Add(new JsonObject { ["name"] = "test-source", ["hostPath"] = new JsonObject { ["path"] = _source } });

        var root = (string)sync["target"]!["root"]!;
        var link = (string?)sync["target"]!["link"] ?? "current";
        var shared = (string)syncer["volumeMounts"]!.AsArray().Single(m => (string)m!["mountPath"]! == root)!["name"]!;
        var signal = new Uri((string)sync["signal"]!["url"]!);
        // Every shipped pod gives ConfigSync a private state volume; the app gets it too here, read-only, as an
        // operator's mistake would: ConfigSync's own folders in it must still be closed to the app.
        var state = syncer["volumeMounts"]!.AsArray().Single(m => (string?)m!["mountPath"] == "/var/lib/configsync")!;
        if ((string?)spec["restartPolicy"] is null or "Always")
        {
            spec["restartPolicy"] = "Always";
        }

        // Every other main container is the stand-in: the first answers the configuration's signal URL,
        // the others (a log shipper beside the app) their own declared port.
        var environments = new Dictionary<string, Dictionary<string, string>>();
        var others = spec["containers"]!.AsArray().Select(c => c!.AsObject()).Where(c => (string?)c["name"] != "config-sync").ToList();
        foreach (var container in others)
        {
            var port = container == others[0] ? signal.Port : KubeletPod.Int(container["ports"]![0]!["containerPort"])!.Value;
            var mount = (string)container["volumeMounts"]!.AsArray().Single(m => (string?)m!["name"] == shared)!["mountPath"]!;
            container.Remove("command");
            container.Remove("args");
            environments[(string)container["name"]!] = new Dictionary<string, string>
            {
                ["APP_FILES"] = $"{mount}/{link}",
                ["APP_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["APP_RELOAD"] = signal.AbsolutePath,
            };
            if (container == others[0])
            {
                container["volumeMounts"]!.AsArray().Add(new JsonObject { ["name"] = (string)state["name"]!, ["mountPath"] = "/peek/configsync-state", ["readOnly"] = true });
                environments[(string)container["name"]!]["APP_PRIVATE"] = "/peek/configsync-state";
            }

            if (exitAfterRead)
            {
                environments[(string)container["name"]!]["APP_EXIT"] = "read";
            }
        }

        app = new App((string)others[0]["name"]!, signal.Port);
        return new KubeletPod(_podman, spec, configMaps, _temp.Combine("pod"), image => image.Contains("configsync", StringComparison.Ordinal) ? Podman.Image : Podman.AppImage, environments);
    }

    private static async Task<JsonElement> AppStateAsync(KubeletPod pod, App app, Func<JsonElement, bool> until)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        JsonElement last = default;
        await DaemonHttp.Eventually(
            async () =>
            {
                try
                {
                    using var document = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{pod.HostPort(app.Port)}/state"));
                    last = document.RootElement.Clone();
                    return until(last);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    return false;
                }
            },
            TimeSpan.FromSeconds(60),
            () => $"app state {(last.ValueKind == JsonValueKind.Undefined ? "never answered" : last.ToString())}; {Podman.LogsAsync(pod.ContainerName(app.Name)).GetAwaiter().GetResult()}",
            pollMilliseconds: 250);
        return last;
    }

    /// <summary>The app runs as a non-root uid other than ConfigSync's, sharing only the pod's fsGroup, and cannot read ConfigSync's private state.</summary>
    private static void AssertSeparateUsers(JsonElement state, KubeletPod pod)
    {
        var uid = state.GetProperty("uid").GetInt32();
        var gid = state.GetProperty("gid").GetInt32();
        Assert.NotEqual(0, uid);
        Assert.NotEqual(1654, uid);
        Assert.NotEqual(1654, gid);
        Assert.Equal(new[] { gid, pod.FsGroup!.Value }.Distinct().Order(), state.GetProperty("groups").EnumerateArray().Select(g => g.GetInt32()).Order());
        if (state.TryGetProperty("private", out var closed) && closed.ValueKind == JsonValueKind.Object)
        {
            Assert.True(closed.GetProperty("folders").GetInt32() >= 1, "ConfigSync's private state volume holds no sync folder");
            Assert.Empty(closed.GetProperty("readable").EnumerateArray());
        }
    }

    private static async Task<int> RestartsAsync(KubeletPod pod, string name) =>
        int.Parse(await Podman.CheckAsync("inspect", "--format", "{{.RestartCount}}", pod.ContainerName(name)), System.Globalization.CultureInfo.InvariantCulture);
}
