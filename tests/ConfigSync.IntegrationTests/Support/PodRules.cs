using System.Text.Json.Nodes;

namespace ConfigSync.IntegrationTests.Support;

/// <summary>
/// The rules a pod with ConfigSync must follow, checked on the examples and on what the chart
/// renders. Returns every broken rule, each naming the workload and container.
/// </summary>
public static class PodRules
{
    public enum Mode
    {
        Sidecar,
        Native,
        Init,
    }

    /// <summary>Checks one workload (Deployment, Job...); <paramref name="configMaps"/> maps ConfigMap names to their data.</summary>
    public static (Mode Mode, List<string> Broken) Check(JsonNode workload, IReadOnlyDictionary<string, JsonObject> configMaps)
    {
        var name = $"{workload["kind"]} {workload["metadata"]?["name"]}";
        var pod = workload["spec"]!["template"]!["spec"]!.AsObject();
        var broken = new List<string>();
        var inits = Containers(pod, "initContainers");
        var mains = Containers(pod, "containers");
        var syncer = inits.Concat(mains).SingleOrDefault(c => (string?)c["name"] == "config-sync")
            ?? throw new InvalidOperationException($"{name}: no container named config-sync");
        var args = syncer["args"]!.AsArray().Select(a => (string)a!).ToList();
        var mode = mains.Contains(syncer) ? Mode.Sidecar : args[0] == "once" ? Mode.Init : Mode.Native;

        switch (mode)
        {
            case Mode.Native:
                Require((string?)syncer["restartPolicy"] == "Always", $"{name}: a native sidecar (an init container running `configsync run`) needs restartPolicy: Always");
                Require((string?)syncer["startupProbe"]?["httpGet"]?["path"] == "/readyz", $"{name}: a native sidecar needs a startupProbe on /readyz so the app starts after the first sync");
                break;
            case Mode.Sidecar:
                Require((string?)syncer["readinessProbe"]?["httpGet"]?["path"] == "/readyz", $"{name}: a classic sidecar needs a readinessProbe on /readyz");
                Require(args[0] == "run", $"{name}: a classic sidecar runs `configsync run`");
                break;
            case Mode.Init:
                Require(syncer["restartPolicy"] is null, $"{name}: a one-shot init container has no restartPolicy");
                break;
        }

        if (mode is not Mode.Init && syncer["livenessProbe"] is { } liveness)
        {
            Require((string?)liveness["httpGet"]?["path"] == "/healthz", $"{name}: the liveness probe must be /healthz");
        }

        // The configuration: the ConfigMap mounted at the --config folder.
        var configFile = args[args.IndexOf("--config") + 1];
        var configMount = Mounts(syncer).Single(m => configFile.StartsWith((string)m["mountPath"]! + "/", StringComparison.Ordinal));
        var configVolume = Volume(pod, (string)configMount["name"]!);
        var config = Yaml.Load((string)configMaps[(string)configVolume["configMap"]!["name"]!][Path.GetFileName(configFile)]!)!;

        // The shared volume: the one holding the syncs' target roots.
        var roots = config["syncs"]!.AsArray().Select(s => (string)s!["target"]!["root"]!).ToList();
        var shared = Mounts(syncer).Where(m => roots.All(r => Under(r, (string)m["mountPath"]!))).ToList();
        Require(shared.Count == 1, $"{name}: every target.root ({string.Join(", ", roots)}) must be under one volume mount of config-sync");
        if (shared.Count != 1)
        {
            return (mode, broken);
        }

        var volume = (string)shared[0]["name"]!;
        Require(Volume(pod, volume)["emptyDir"] is not null, $"{name}: the shared volume '{volume}' should be an emptyDir");
        var readers = inits.Concat(mains).Where(c => c != syncer && Mounts(c).Any(m => (string?)m["name"] == volume)).ToList();
        Require(readers.Count > 0, $"{name}: no app container mounts the shared volume '{volume}'");
        foreach (var container in inits.Concat(mains))
        {
            foreach (var mount in Mounts(container).Where(m => (string?)m["name"] == volume))
            {
                Require(mount["subPath"] is null && mount["subPathExpr"] is null, $"{name}: container '{container["name"]}' mounts '{volume}' with subPath, which never sees updates");
                Require(container == syncer || (bool?)mount["readOnly"] == true, $"{name}: container '{container["name"]}' should mount '{volume}' read-only");
            }
        }

        // Ports: ConfigSync binds its own, never 8080 (the app's usual port, and what .NET images default to).
        if (mode is not Mode.Init)
        {
            var port = Number(syncer["ports"]![0]!["containerPort"]!);
            Require(port != 8080, $"{name}: config-sync must not use port 8080");
            var listen = (string?)config["http"]?["listen"] ?? "0.0.0.0:8081";
            Require(listen.EndsWith(":" + port, StringComparison.Ordinal), $"{name}: http.listen '{listen}' does not match containerPort {port}");
            foreach (var container in inits.Concat(mains).Where(c => c != syncer))
            {
                Require(!Ports(container).Contains(port), $"{name}: container '{container["name"]}' also uses port {port}");
            }
        }

        // Hardening: non-root, read-only root file system with /tmp on a volume.
        var security = syncer["securityContext"];
        Require((bool?)security?["runAsNonRoot"] == true && (bool?)security?["readOnlyRootFilesystem"] == true && (bool?)security?["allowPrivilegeEscalation"] == false,
            $"{name}: config-sync should run non-root with a read-only root file system and no privilege escalation");
        Require(Mounts(syncer).Any(m => (string?)m["mountPath"] == "/tmp"), $"{name}: with a read-only root file system config-sync needs /tmp on a volume");

        // Every container of the pod, the app's too: the namespace may enforce the restricted profile.
        broken.AddRange(PodSecurity.Restricted(pod, name));
        return (mode, broken);

        void Require(bool condition, string message)
        {
            if (!condition)
            {
                broken.Add(message);
            }
        }
    }

    private static List<JsonNode> Containers(JsonObject pod, string key) => pod[key] is JsonArray list ? list.Select(c => c!).ToList() : [];

    private static List<JsonNode> Mounts(JsonNode container) => container["volumeMounts"] is JsonArray list ? list.Select(m => m!).ToList() : [];

    private static List<long> Ports(JsonNode container) => container["ports"] is JsonArray list ? list.Select(p => Number(p!["containerPort"]!)).ToList() : [];

    private static long Number(JsonNode node) => long.Parse(node.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);

    private static JsonNode Volume(JsonObject pod, string name) =>
        pod["volumes"]!.AsArray().Single(v => (string?)v!["name"] == name)!;

    private static bool Under(string path, string folder) => path == folder || path.StartsWith(folder.TrimEnd('/') + "/", StringComparison.Ordinal);
}
