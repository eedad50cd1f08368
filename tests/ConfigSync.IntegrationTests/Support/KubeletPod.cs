using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using ConfigSync.Sources.Git.Tests.TestSupport;
using ConfigSync.Tests.TestSupport;

namespace ConfigSync.IntegrationTests.Support;

/// <summary>
/// The kubelet's part for one pod, played with podman: a podman pod (one network namespace, so
/// 127.0.0.1 is the pod's loopback), host folders for its volumes (emptyDir, in memory for
/// <c>medium: Memory</c>; configMap written from the manifest's ConfigMaps), fsGroup applied as the
/// kubelet applies it (group owner, setgid, and a supplementary group of every container), each
/// container's securityContext mapped to podman options, and the start order of KEP-753: init
/// containers one after another, each run to completion, except a native sidecar
/// (<c>restartPolicy: Always</c>), which is started and held until its startupProbe passes; then the
/// main containers. A Job's end: when every main container has exited, sidecars get SIGTERM in
/// reverse order. What is not emulated is listed in docs/testing.md.
/// </summary>
public sealed class KubeletPod : IAsyncDisposable
{
    private readonly Podman _podman;
    private readonly JsonObject _spec;
    private readonly string _folder;
    private readonly string _pod;
    private readonly Dictionary<string, string> _volumes = new(StringComparer.Ordinal);
    private readonly List<string> _tmpfs = [];
    private readonly Dictionary<int, int> _ports = [];
    private readonly List<(string Name, string Container)> _sidecars = [];
    private readonly List<(string Name, string Container)> _mains = [];

    /// <param name="spec">The pod spec (a workload's <c>spec.template.spec</c>).</param>
    /// <param name="configMaps">ConfigMap name to its data.</param>
    /// <param name="folder">A host folder for the volumes.</param>
    /// <param name="image">Maps a manifest's image to the one to run (the image under test, or the app stand-in).</param>
    /// <param name="environment">Extra environment per container name (the stand-in's settings).</param>
    public KubeletPod(Podman podman, JsonObject spec, IReadOnlyDictionary<string, JsonObject> configMaps, string folder, Func<string, string> image, IReadOnlyDictionary<string, Dictionary<string, string>>? environment = null)
    {
        _podman = podman;
        _spec = spec;
        _folder = folder;
        _pod = podman.Pod("pod");
        ConfigMaps = configMaps;
        Image = image;
        Environment = environment ?? new Dictionary<string, Dictionary<string, string>>();
    }

    public IReadOnlyDictionary<string, JsonObject> ConfigMaps { get; }

    public Func<string, string> Image { get; }

    public IReadOnlyDictionary<string, Dictionary<string, string>> Environment { get; }

    /// <summary>The pod's fsGroup, if any.</summary>
    public int? FsGroup => Int(_spec["securityContext"]?["fsGroup"]);

    /// <summary>The podman name of a container of the manifest.</summary>
    public string ContainerName(string name) => $"{_pod}-{name}";

    /// <summary>The host port that reaches <paramref name="containerPort"/> on the pod's loopback.</summary>
    public int HostPort(int containerPort) => _ports[containerPort];

    /// <summary>The host folder behind a volume of the manifest.</summary>
    public string VolumeFolder(string volume) => _volumes[volume];

    /// <summary>Creates the pod and its volumes and starts its containers in the kubelet's order; returns when the main containers have started.</summary>
    /// <param name="extraPorts">Container ports to reach from the host besides the declared ones (an app stand-in's).</param>
    public async Task StartAsync(IEnumerable<int>? extraPorts = null, TimeSpan? startupLimit = null)
    {
        var ports = Containers("initContainers").Concat(Containers("containers"))
            .SelectMany(c => c["ports"]?.AsArray() ?? [])
            .Select(p => Int(p!["containerPort"])!.Value)
            .Concat(extraPorts ?? [])
            .Distinct();
        var publish = new List<string>();
        foreach (var port in ports)
        {
            _ports[port] = AppListener.FreePort();
            publish.AddRange(["-p", $"127.0.0.1:{_ports[port]}:{port}"]);
        }

        // hostAliases: the kubelet writes them into every container's /etc/hosts; podman does so for a pod's --add-host.
        var hosts = (_spec["hostAliases"]?.AsArray() ?? [])
            .SelectMany(a => a!["hostnames"]!.AsArray().Select(h => $"--add-host={(string)h!}:{(string)a["ip"]!}"));
        await Podman.CheckAsync(["pod", "create", "--name", _pod, "--label", Podman.Label, "--share", "net,ipc,uts", .. publish, .. hosts]);
        MakeVolumes();
        foreach (var init in Containers("initContainers"))
        {
            var name = (string)init["name"]!;
            if ((string?)init["restartPolicy"] == "Always")
            {
                _sidecars.Add((name, await RunAsync(init, detached: true)));
                await WaitForStartupProbeAsync(init, startupLimit ?? TimeSpan.FromMinutes(2));
            }
            else
            {
                var container = await RunAsync(init, detached: true);
                var code = await Podman.WaitAsync(container, startupLimit ?? TimeSpan.FromMinutes(2));
                if (code != 0)
                {
                    throw new PodFailedException($"init container {name} exited {code}: {await Podman.LogsAsync(container)}");
                }
            }
        }

        foreach (var main in Containers("containers"))
        {
            _mains.Add(((string)main["name"]!, await RunAsync(main, detached: true, restart: (string?)_spec["restartPolicy"] ?? "Always")));
        }
    }

    /// <summary>
    /// Runs the single container of another pod's spec to its end in this pod's network, under that pod's own security
    /// context: how a pod elsewhere on the cluster reaches this one through a Service, when the Service's name is one of
    /// this pod's hostAliases (the test emulates the Service's DNS name and nothing else). Returns its exit code and log.
    /// </summary>
    public async Task<(int Code, string Log)> RunToEndAsync(JsonObject otherPod, TimeSpan timeout)
    {
        var container = Assert.Single(otherPod["containers"]!.AsArray())!.AsObject();
        Assert.Null(otherPod["volumes"]);
        var name = await RunAsync(container, detached: true, podContext: otherPod["securityContext"]?.AsObject() ?? []);
        var code = await Podman.WaitAsync(name, timeout);
        return (code, await Podman.LogsAsync(name));
    }

    /// <summary>
    /// A Job's pod to its end: waits for every main container to exit (failing the pod at
    /// <c>activeDeadlineSeconds</c>, as the Job controller does), then stops the sidecars in reverse
    /// order with SIGTERM and the pod's grace period. Returns each container's exit code.
    /// </summary>
    public async Task<Dictionary<string, int>> CompleteAsync(TimeSpan deadline)
    {
        var codes = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (name, container) in _mains)
        {
            codes[name] = await Podman.WaitAsync(container, deadline);
        }

        var grace = (Int(_spec["terminationGracePeriodSeconds"]) ?? 30).ToString(CultureInfo.InvariantCulture);
        foreach (var (name, container) in Enumerable.Reverse(_sidecars))
        {
            await Podman.CheckAsync("stop", "--time", grace, container);
            codes[name] = await Podman.ExitCodeAsync(container) ?? -1;
        }

        return codes;
    }

    /// <summary>Kills a container (SIGKILL) and starts it again, as the kubelet restarts a crashed container.</summary>
    public async Task RestartAsync(string name)
    {
        var container = ContainerName(name);
        await Podman.CheckAsync("kill", "--signal", "KILL", container);
        await Podman.WaitAsync(container, TimeSpan.FromSeconds(30));
        await Podman.CheckAsync("start", container);
    }

    /// <summary>Removes the pod and unmounts its in-memory volumes; never throws (a test's own failure stays the one reported).</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await Podman.RunAsync(["pod", "rm", "--force", "--time", "0", _pod]);
        }
        catch (TimeoutException)
        {
        }

        foreach (var mount in _tmpfs)
        {
            try
            {
                Shell.Run("/", "umount", mount);
            }
            catch (InvalidOperationException)
            {
                Shell.Run("/", "umount", "-l", mount); // busy: detach now, freed when the last user goes
            }
        }
    }

    private IEnumerable<JsonObject> Containers(string kind) => (_spec[kind]?.AsArray() ?? []).Select(c => c!.AsObject());

    private void MakeVolumes()
    {
        foreach (var volume in (_spec["volumes"]?.AsArray() ?? []).Select(v => v!.AsObject()))
        {
            var name = (string)volume["name"]!;
            var folder = Directory.CreateDirectory(Path.Combine(_folder, "volumes", name)).FullName;
            _volumes[name] = folder;
            if (volume["emptyDir"] is JsonObject emptyDir)
            {
                if ((string?)emptyDir["medium"] == "Memory")
                {
                    Shell.Run("/", "mount", "-t", "tmpfs", "-o", "size=64m,mode=0777", "tmpfs", folder);
                    _tmpfs.Add(folder);
                }

                // The kubelet makes an emptyDir 0777; with fsGroup, group-owned by it and setgid, so files
                // written there belong to the group every container of the pod is in.
                File.SetUnixFileMode(folder, (UnixFileMode)0x1FF);
                if (FsGroup is { } group)
                {
                    Shell.Run("/", "chgrp", group.ToString(CultureInfo.InvariantCulture), folder);
                    Shell.Run("/", "chmod", "2777", folder);
                }
            }
            else if (volume["configMap"] is JsonObject configMap)
            {
                var data = ConfigMaps[(string)configMap["name"]!];
                foreach (var (file, content) in data)
                {
                    File.WriteAllText(Path.Combine(folder, file), (string)content!);
                    File.SetUnixFileMode(Path.Combine(folder, file), (UnixFileMode)0x1A4); // defaultMode 0644
                }

                File.SetUnixFileMode(folder, (UnixFileMode)0x1ED);
            }
            else if (volume["hostPath"] is JsonObject hostPath)
            {
                _volumes[name] = (string)hostPath["path"]!;
            }
            else if (volume["secret"] is not null)
            {
                File.SetUnixFileMode(folder, (UnixFileMode)0x1ED); // an empty Secret: the tests' configurations read none
            }
            else
            {
                throw new NotSupportedException($"volume {name}: only emptyDir, configMap, secret and hostPath are emulated");
            }
        }
    }

    private async Task<string> RunAsync(JsonObject container, bool detached, string restart = "Never", JsonObject? podContext = null)
    {
        var name = (string)container["name"]!;
        podContext ??= _spec["securityContext"]?.AsObject();
        var context = container["securityContext"]?.AsObject();
        var podmanName = ContainerName(name);
        var arguments = new List<string> { "run", "--name", podmanName, "--pod", _pod, "--label", Podman.Label };
        if (detached)
        {
            arguments.Add("-d");
        }

        // The pod's restartPolicy for main containers (a Deployment's Always restarts an app that exits).
        arguments.AddRange(["--restart", restart switch { "Always" => "always", "OnFailure" => "on-failure", _ => "no" }]);

        var user = Int(context?["runAsUser"]) ?? Int(podContext?["runAsUser"]);
        var group = Int(context?["runAsGroup"]) ?? Int(podContext?["runAsGroup"]);
        if (user is not null)
        {
            arguments.AddRange(["--user", group is null ? $"{user}" : $"{user}:{group}"]);
        }

        if (Int(podContext?["fsGroup"]) is { } fsGroup)
        {
            arguments.AddRange(["--group-add", fsGroup.ToString(CultureInfo.InvariantCulture)]);
        }

        if ((bool?)context?["readOnlyRootFilesystem"] == true)
        {
            arguments.AddRange(["--read-only", "--read-only-tmpfs=false"]);
        }

        if ((bool?)context?["allowPrivilegeEscalation"] == false)
        {
            arguments.AddRange(["--security-opt", "no-new-privileges"]);
        }

        foreach (var dropped in context?["capabilities"]?["drop"]?.AsArray() ?? [])
        {
            arguments.AddRange(["--cap-drop", (string)dropped!]);
        }

        var mounts = (container["volumeMounts"]?.AsArray() ?? []).Select(m => m!.AsObject()).ToList();
        foreach (var mount in mounts)
        {
            // A mount inside another volume's mount (a Secret below a ConfigMap's folder): the kubelet makes
            // the mount point in the outer volume, read-only or not.
            var path = (string)mount["mountPath"]!;
            foreach (var outer in mounts.Where(o => path.StartsWith((string)o["mountPath"]! + "/", StringComparison.Ordinal)))
            {
                Directory.CreateDirectory(Path.Combine(_volumes[(string)outer["name"]!], Path.GetRelativePath((string)outer["mountPath"]!, path)));
            }
        }

        foreach (var mount in mounts)
        {
            var source = _volumes[(string)mount["name"]!];
            arguments.AddRange(["-v", $"{source}:{(string)mount["mountPath"]!}{((bool?)mount["readOnly"] == true ? ":ro" : string.Empty)}"]);
        }

        var environment = (container["env"]?.AsArray() ?? []).Select(e => ((string)e!["name"]!, (string?)e["value"] ?? string.Empty));
        foreach (var (key, value) in environment.Concat(Environment.TryGetValue(name, out var extra) ? extra.Select(e => (e.Key, e.Value)) : []))
        {
            arguments.AddRange(["-e", $"{key}={value}"]);
        }

        var image = Image((string)container["image"]!);
        if ((bool?)context?["runAsNonRoot"] == true || (bool?)podContext?["runAsNonRoot"] == true)
        {
            var effective = user?.ToString(CultureInfo.InvariantCulture) ?? await Podman.CheckAsync("image", "inspect", "--format", "{{.Config.User}}", image);
            if (!int.TryParse(effective.Split(':')[0], out var uid) || uid == 0)
            {
                throw new PodFailedException($"container {name}: runAsNonRoot and the image's user '{effective}' is not a numeric non-root uid (the kubelet refuses to start it)");
            }
        }

        if (container["command"] is JsonArray command)
        {
            arguments.AddRange(["--entrypoint", (string)command[0]!]);
        }

        arguments.Add(image);
        arguments.AddRange((container["command"]?.AsArray() ?? []).Skip(1).Select(a => (string)a!));
        arguments.AddRange((container["args"]?.AsArray() ?? []).Select(a => (string)a!));
        await Podman.CheckAsync([.. arguments]);
        return podmanName;
    }

    private async Task WaitForStartupProbeAsync(JsonObject container, TimeSpan limit)
    {
        var name = ContainerName((string)container["name"]!);
        if (container["startupProbe"]?["httpGet"] is not JsonObject probe)
        {
            return;
        }

        var port = ResolvePort(container, probe["port"]!);
        var period = TimeSpan.FromSeconds(Int(container["startupProbe"]!["periodSeconds"]) ?? 10);
        var failures = Int(container["startupProbe"]!["failureThreshold"]) ?? 3;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
        var deadline = DateTime.UtcNow + limit;
        for (var attempt = 0; attempt < failures && DateTime.UtcNow < deadline; attempt++)
        {
            if (await Podman.ExitCodeAsync(name) is { } code)
            {
                throw new PodFailedException($"native sidecar {name} exited {code} before its startupProbe passed: {await Podman.LogsAsync(name)}");
            }

            try
            {
                using var response = await http.GetAsync($"http://127.0.0.1:{HostPort(port)}{(string)probe["path"]!}");
                if (response.StatusCode is >= HttpStatusCode.OK and < HttpStatusCode.BadRequest)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(period < TimeSpan.FromSeconds(1) ? period : TimeSpan.FromSeconds(1)); // probes faster than the manifest's period: the order is what is tested, not the timing
        }

        throw new PodFailedException($"startupProbe of {name} did not pass: {await Podman.LogsAsync(name)}");
    }

    /// <summary>A number of the manifest (YAML numbers load as 64-bit).</summary>
    public static int? Int(JsonNode? node) => node is null ? null : int.Parse(node.ToJsonString(), CultureInfo.InvariantCulture);

    private static int ResolvePort(JsonObject container, JsonNode port) =>
        port.GetValueKind() == System.Text.Json.JsonValueKind.Number
            ? Int(port)!.Value
            : Int(container["ports"]!.AsArray().Single(p => (string?)p!["name"] == (string)port!)!["containerPort"])!.Value;
}

/// <summary>The pod could not start or run as the kubelet would have it.</summary>
public sealed class PodFailedException(string message) : Exception(message);
