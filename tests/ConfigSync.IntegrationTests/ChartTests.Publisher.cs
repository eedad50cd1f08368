using System.Text.Json.Nodes;
using ConfigSync.IntegrationTests.Support;
using ConfigSync.Sources.Git.Tests.TestSupport;

namespace ConfigSync.IntegrationTests;

/// <summary>The chart's publisher Deployment (<c>publisher.enabled</c>): what it renders, and what it refuses to render.</summary>
public sealed partial class ChartTests
{
    /// <summary>Values of a publisher: a git source read with a GitHub App key from a Secret, published into S3 with IRSA.</summary>
    internal const string PublisherValues = """
        publisher:
          enabled: true
          config:
            http: { listen: "0.0.0.0:8081" }
            syncs:
              - name: web
                source:
                  type: git
                  url: https://github.com/acme/config.git
                  ref: main
                  auth: { githubApp: { appId: "123456", installationId: "987654", privateKeyFile: /etc/configsync/secrets/github-app/app.pem } }
                publish: { type: s3, bucket: acme-config, prefix: web/prod, region: eu-west-1, gracePeriod: 2m }
                interval: 30s
        secrets:
          - name: github-app
            mountPath: /etc/configsync/secrets/github-app
        aws:
          roleArn: arn:aws:iam::123456789012:role/publisher
        """;

    [Fact]
    public async Task Publisher_IsOneRecreatedPodRunningRun_OnAConfigurationThatValidates_BesideTheDemo_WithoutSharingItsSelectors()
    {
        using var temp = new TempFolder();
        var documents = await Helm.RenderAsync(Chart, "-f", temp.Write("values.yaml", PublisherValues), "--set", "demo.enabled=true", "--set", "podMonitor.enabled=true");
        var deployments = documents.Where(d => (string?)d["kind"] == "Deployment").ToDictionary(d => (string)d["metadata"]!["name"]!);
        var publisher = deployments["t-config-sync-publisher"];
        var demo = deployments["t-config-sync-demo"];
        var template = publisher["spec"]!["template"]!;
        var container = template["spec"]!["containers"]!.AsArray().Single()!;

        Assert.Equal(1, KubeletPod.Int(publisher["spec"]!["replicas"]));
        Assert.Equal("Recreate", (string?)publisher["spec"]!["strategy"]!["type"]);
        Assert.Equal(["run", "--config", "/etc/configsync/config.yaml"], container["args"]!.AsArray().Select(a => (string)a!));
        Assert.Equal("/readyz", (string?)container["readinessProbe"]!["httpGet"]!["path"]);
        Assert.Equal("/healthz", (string?)container["livenessProbe"]!["httpGet"]!["path"]);
        Assert.Contains(container["volumeMounts"]!.AsArray(), m => (string?)m!["mountPath"] == "/etc/configsync/secrets/github-app");
        Assert.DoesNotContain(container["volumeMounts"]!.AsArray(), m => (string?)m!["name"] == "config-sync-data"); // no shared volume: it writes a store

        // Its own ConfigMap, mounted where the args read it, and that configuration passes `configsync validate`.
        var configMap = (string)template["spec"]!["volumes"]!.AsArray().Single(v => (string?)v!["name"] == "config-sync-config")!["configMap"]!["name"]!;
        Assert.Equal("t-config-sync-publisher", configMap);
        var (code, output) = await Daemon.RunAsync(["validate", "--config", temp.Write("publisher.yaml", (string)ConfigMaps(documents)[configMap]["config.yaml"]!)]);
        Assert.True(code == 0, output);
        Assert.Contains("web (git -> s3 index .configsync-index.json)", output, StringComparison.Ordinal);

        // Neither the demo's Deployment nor its Service selects the publisher's pod; the PodMonitor does, on a port it has.
        var labels = template["metadata"]!["labels"]!.AsObject();
        bool Selects(JsonNode? selector) => selector!.AsObject().All(s => (string?)labels[s.Key] == (string?)s.Value);
        Assert.True(Selects(publisher["spec"]!["selector"]!["matchLabels"]));
        Assert.False(Selects(demo["spec"]!["selector"]!["matchLabels"]));
        Assert.False(Selects(documents.Single(d => (string?)d["kind"] == "Service")["spec"]!["selector"]));
        var monitor = documents.Single(d => (string?)d["kind"] == "PodMonitor");
        Assert.True(Selects(monitor["spec"]!["selector"]!["matchLabels"]));
        Assert.Contains(container["ports"]!.AsArray(), p => (string?)p!["name"] == (string?)monitor["spec"]!["podMetricsEndpoints"]![0]!["port"]);

        // Kubernetes' schemas and the restricted profile, as every shipped manifest.
        Assert.Empty(await KubernetesSchemas.ProblemsAsync(documents));
        Assert.Empty(PodSecurity.Restricted(template["spec"]!.AsObject(), "publisher"));
    }

    [Fact]
    public async Task Publisher_Alone_GetsTheServiceAccountWithItsCloudIdentity()
    {
        using var temp = new TempFolder();
        var documents = await Helm.RenderAsync(Chart, "-f", temp.Write("values.yaml", PublisherValues));

        var account = documents.Single(d => (string?)d["kind"] == "ServiceAccount");
        var pod = documents.Single(d => (string?)d["kind"] == "Deployment")["spec"]!["template"]!["spec"]!;
        Assert.Equal((string?)account["metadata"]!["name"], (string?)pod["serviceAccountName"]);
        Assert.Equal("arn:aws:iam::123456789012:role/publisher", (string?)account["metadata"]!["annotations"]!["eks.amazonaws.com/role-arn"]);
    }

    [Fact]
    public async Task Publisher_MountsOnlyItsOwnExtraVolumes_AndLeavesReadinessOffWhenAsked()
    {
        using var temp = new TempFolder();
        var values = temp.Write("values.yaml", PublisherValues + """

            extraVolumes:
              - { name: vault, csi: { driver: secrets-store.csi.k8s.io } }
            extraVolumeMounts:
              - { name: vault, mountPath: /etc/configsync/secrets/vault, readOnly: true }
              - { name: app-secrets, mountPath: /etc/configsync/secrets/app }
            """);

        var on = (await Helm.RenderAsync(Chart, "-f", values)).Single(d => (string?)d["kind"] == "Deployment");
        var off = (await Helm.RenderAsync(Chart, "-f", values, "--set", "probes.readiness.enabled=false")).Single(d => (string?)d["kind"] == "Deployment");

        // The app chart's own volume (app-secrets) is not this pod's: its mount would make the Deployment invalid.
        var container = on["spec"]!["template"]!["spec"]!["containers"]![0]!;
        Assert.Contains(container["volumeMounts"]!.AsArray(), m => (string?)m!["name"] == "vault");
        Assert.DoesNotContain(container["volumeMounts"]!.AsArray(), m => (string?)m!["name"] == "app-secrets");
        Assert.Empty(await KubernetesSchemas.ProblemsAsync([on]));
        Assert.NotNull(container["readinessProbe"]);
        Assert.Null(off["spec"]!["template"]!["spec"]!["containers"]![0]!["readinessProbe"]);
    }

    [Theory]
    [InlineData("{ syncs: [] }", "publisher.config.syncs is empty")]
    [InlineData("{ syncs: [{ name: web, source: { type: dir, path: /src }, publish: { type: s3, bucket: b }, target: { root: /config } }] }", "at '/publisher/config/syncs/0': 'not' failed")]
    [InlineData("{ syncs: [{ name: web, source: { type: dir, path: /src } }] }", "missing property 'publish'")]
    [InlineData("{ syncs: [{ name: web, source: { type: dir, path: /src }, publish: { type: git, url: x } }] }", "at '/publisher/config/syncs/0/publish/type': value must be one of 's3', 'azureblob'")]
    [InlineData("{ syncs: [{ name: web, source: { type: dir, path: /src }, publish: { type: s3, bucket: b, auth: { secretAccessKey: x } } }] }", "at '/publisher/config/syncs/0/publish': 'not' failed")]
    [InlineData("{ http: { listen: \"0.0.0.0:9090\" }, syncs: [{ name: web, source: { type: dir, path: /src }, publish: { type: s3, bucket: b } }] }", "differs from publisher.config.http.listen")]
    [InlineData("{ http: { listen: \"127.0.0.1:8081\" }, syncs: [{ name: web, source: { type: dir, path: /src }, publish: { type: s3, bucket: b } }] }", "is loopback only")]
    public async Task Publisher_ValuesThatCannotWork_FailTheRender_ByName(string config, string error)
    {
        using var temp = new TempFolder();
        var values = temp.Write("values.yaml", "publisher:\n  enabled: true\n  config: " + config + "\n");

        var (code, output) = await Helm.RunAsync("template", "t", Chart, "-f", values);

        Assert.NotEqual(0, code);
        Assert.Contains(error, output, StringComparison.Ordinal);

        // Past the schema (helm --skip-schema-validation, or values it cannot see), the template names the sync itself.
        if (config.Contains("target:", StringComparison.Ordinal))
        {
            var (skipped, text) = await Helm.RunAsync("template", "t", Chart, "-f", values, "--skip-schema-validation");
            Assert.NotEqual(0, skipped);
            Assert.Contains("publisher.config.syncs web: a publisher's sync has a publish (the bucket or container it writes) and no target", text, StringComparison.Ordinal);
        }

        // The control: the same release with a sync that can work renders.
        var good = temp.Write("good.yaml", "publisher:\n  enabled: true\n  config: { syncs: [{ name: web, source: { type: dir, path: /src }, publish: { type: s3, bucket: b } }] }\n");
        Assert.Equal(0, (await Helm.RunAsync("template", "t", Chart, "-f", good)).Code);
    }
}
