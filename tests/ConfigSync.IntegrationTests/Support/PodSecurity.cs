using System.Text.Json.Nodes;

namespace ConfigSync.IntegrationTests.Support;

/// <summary>
/// The Pod Security Standards' <c>restricted</c> profile (Kubernetes 1.29+, the baseline's controls
/// included), checked on a pod spec the way the admission controller checks it: every container,
/// init container and ephemeral container. Returns each violation, naming the field.
/// https://kubernetes.io/docs/concepts/security/pod-security-standards/
/// </summary>
public static class PodSecurity
{
    private static readonly HashSet<string> RestrictedVolumes =
        ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];

    private static readonly HashSet<string> SafeSysctls =
        ["kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"];

    public static List<string> Restricted(JsonObject pod, string name)
    {
        var broken = new List<string>();
        var podContext = pod["securityContext"];
        foreach (var key in new[] { "hostNetwork", "hostPID", "hostIPC" })
        {
            Require((bool?)pod[key] != true, $"{key} must not be true");
        }

        foreach (var volume in (pod["volumes"]?.AsArray() ?? []).Select(v => v!.AsObject()))
        {
            var type = volume.Select(p => p.Key).FirstOrDefault(k => k != "name");
            Require(type is not null && RestrictedVolumes.Contains(type), $"volume '{volume["name"]}' of type {type} is not allowed (only {string.Join(", ", RestrictedVolumes)})");
        }

        foreach (var sysctl in (podContext?["sysctls"]?.AsArray() ?? []).Select(s => (string)s!["name"]!))
        {
            Require(SafeSysctls.Contains(sysctl), $"sysctl {sysctl} is not in the safe set");
        }

        Require(!IsUnconfined(podContext?["seccompProfile"]), "securityContext.seccompProfile must not be Unconfined");
        Require(!RunsAsRoot(podContext), "securityContext.runAsUser must not be 0");
        Require(podContext?["windowsOptions"]?["hostProcess"] is null || (bool?)podContext["windowsOptions"]!["hostProcess"] != true, "hostProcess must not be true");
        Require(AppArmorAllowed(podContext?["appArmorProfile"]), "securityContext.appArmorProfile must be RuntimeDefault or Localhost");
        Require(SeLinuxAllowed(podContext?["seLinuxOptions"]), "securityContext.seLinuxOptions: only the container_t, container_init_t and container_kvm_t types, no user or role");

        var containers = new[] { "initContainers", "containers", "ephemeralContainers" }
            .SelectMany(kind => (pod[kind]?.AsArray() ?? []).Select(c => c!.AsObject()));
        foreach (var container in containers)
        {
            var where = $"container '{container["name"]}'";
            var context = container["securityContext"];
            Require((bool?)context?["privileged"] != true, $"{where}: privileged must not be true");
            Require((bool?)context?["allowPrivilegeEscalation"] == false, $"{where}: securityContext.allowPrivilegeEscalation must be false");
            Require((bool?)context?["runAsNonRoot"] == true || ((bool?)podContext?["runAsNonRoot"] == true && context?["runAsNonRoot"] is null),
                $"{where}: runAsNonRoot must be true (on the container or the pod)");
            Require(!RunsAsRoot(context), $"{where}: securityContext.runAsUser must not be 0");
            var seccomp = context?["seccompProfile"] ?? podContext?["seccompProfile"];
            Require((string?)seccomp?["type"] is "RuntimeDefault" or "Localhost", $"{where}: seccompProfile.type must be RuntimeDefault or Localhost (on the container or the pod)");
            var drop = (context?["capabilities"]?["drop"]?.AsArray() ?? []).Select(c => (string)c!).ToList();
            Require(drop.Contains("ALL"), $"{where}: capabilities.drop must include ALL");
            foreach (var added in (context?["capabilities"]?["add"]?.AsArray() ?? []).Select(c => (string)c!))
            {
                Require(added == "NET_BIND_SERVICE", $"{where}: capabilities.add may only hold NET_BIND_SERVICE, not {added}");
            }

            foreach (var port in (container["ports"]?.AsArray() ?? []).Where(p => p!["hostPort"] is not null))
            {
                Require(port!["hostPort"]!.ToJsonString() == "0", $"{where}: hostPort must not be set");
            }

            Require((string?)context?["procMount"] is null or "Default", $"{where}: procMount must be Default");
            Require(AppArmorAllowed(context?["appArmorProfile"]), $"{where}: appArmorProfile must be RuntimeDefault or Localhost");
            Require(SeLinuxAllowed(context?["seLinuxOptions"]), $"{where}: seLinuxOptions: only the container_t, container_init_t and container_kvm_t types, no user or role");
            Require((bool?)context?["windowsOptions"]?["hostProcess"] != true, $"{where}: hostProcess must not be true");
        }

        return broken;

        void Require(bool condition, string message)
        {
            if (!condition)
            {
                broken.Add($"{name}: restricted Pod Security: {message}");
            }
        }
    }

    private static bool IsUnconfined(JsonNode? seccomp) => (string?)seccomp?["type"] == "Unconfined";

    private static bool RunsAsRoot(JsonNode? context) => context?["runAsUser"] is JsonNode user && user.ToJsonString() == "0";

    private static bool AppArmorAllowed(JsonNode? profile) => profile is null || (string?)profile["type"] is "RuntimeDefault" or "Localhost";

    private static bool SeLinuxAllowed(JsonNode? options) =>
        options is null || (options["user"] is null && options["role"] is null && (string?)options["type"] is null or "" or "container_t" or "container_init_t" or "container_kvm_t");
}
