using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;

namespace ConfigSync.IntegrationTests.Support;

/// <summary>
/// Checks Kubernetes objects against Kubernetes' own schemas, as an API server would before storing them, with two
/// independent checkers, each catching what the other cannot, and the API server's own rules a chart can break
/// (names, labels, selectors, duplicate volumes, containers and mounts):
/// <list type="bullet">
/// <item>the official C# client's typed models, read strictly (KubernetesClient): an unknown or misspelt field
/// (`imag:`, `replicaz:`) and a value of the wrong type, for every built-in kind;</item>
/// <item>the OpenAPI and CRD JSON schemas compiled by kubernetes-models (tests/servers/validate-manifests.mjs):
/// required fields, enums, patterns and types, for built-in kinds and the Prometheus Operator's CRDs
/// (PodMonitor, ServiceMonitor, PrometheusRule). A kind it has no schema for is a problem, never a pass.</item>
/// </list>
/// </summary>
public static class KubernetesSchemas
{
    /// <summary>Every problem found, each as "Kind name: problem"; empty when every object is valid.</summary>
    public static async Task<List<string>> ProblemsAsync(IEnumerable<JsonNode> objects)
    {
        var list = objects.ToList();
        var problems = new List<string>();
        foreach (var item in list)
        {
            var label = $"{(string?)item["kind"]} {(string?)item["metadata"]?["name"]}";
            try
            {
                // JSON is YAML; strict: a property the model does not have is an error, not dropped.
                KubernetesYaml.LoadAllFromString(item.ToJsonString(), strict: true);
            }
            catch (KeyNotFoundException) when (((string?)item["apiVersion"] ?? string.Empty).StartsWith("monitoring.coreos.com/", StringComparison.Ordinal))
            {
                // The C# client has no models for the Prometheus Operator's CRDs: the JSON schemas below check them.
            }
            catch (Exception e)
            {
                problems.Add($"{label}: {e.Message} {e.InnerException?.Message}".TrimEnd());
            }
        }

        problems.AddRange(list.SelectMany(ApiServerRules));
        foreach (var result in await JsonSchemaResultsAsync(list))
        {
            problems.AddRange(result.Errors.Select(e => $"{result.Kind} {result.Name}: {e}"));
        }

        return problems;
    }

    /// <summary>
    /// What the API server checks beyond the schemas, for the mistakes a chart can make: object names (a DNS-1123
    /// subdomain; a Service's a DNS-1035 label), label keys and values, a workload's selector matching its pod
    /// template, and in a pod unique volume names, unique container names and unique mount paths per container.
    /// </summary>
    private static IEnumerable<string> ApiServerRules(JsonNode item)
    {
        var kind = (string?)item["kind"];
        var name = (string?)item["metadata"]?["name"] ?? string.Empty;
        var label = $"{kind} {name}";
        var nameRule = kind == "Service" ? @"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$" : @"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
        if (!System.Text.RegularExpressions.Regex.IsMatch(name, nameRule))
        {
            yield return $"{label}: metadata.name is not a valid {(kind == "Service" ? "DNS-1035 label" : "DNS-1123 subdomain")}";
        }

        var template = item["spec"]?["template"];
        foreach (var labels in new[] { item["metadata"]?["labels"], template?["metadata"]?["labels"] }.OfType<JsonObject>())
        {
            foreach (var (key, value) in labels)
            {
                var keyName = key.Contains('/') ? key[(key.IndexOf('/') + 1)..] : key;
                if (!System.Text.RegularExpressions.Regex.IsMatch(keyName, @"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
                    || !System.Text.RegularExpressions.Regex.IsMatch((string?)value ?? string.Empty, @"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$"))
                {
                    yield return $"{label}: label {key} is not a valid label key and value";
                }
            }
        }

        if (item["spec"]?["selector"]?["matchLabels"] is JsonObject selector && template is not null)
        {
            foreach (var (key, value) in selector)
            {
                if ((string?)template["metadata"]?["labels"]?[key] != (string?)value)
                {
                    yield return $"{label}: the selector's {key} does not match the pod template's labels";
                }
            }
        }

        var pod = kind == "Pod" ? item["spec"] : template?["spec"];
        if (pod is null)
        {
            yield break;
        }

        foreach (var duplicate in (pod["volumes"]?.AsArray() ?? []).GroupBy(v => (string?)v!["name"]).Where(g => g.Count() > 1))
        {
            yield return $"{label}: volume {duplicate.Key} is declared {duplicate.Count()} times";
        }

        var containers = (pod["initContainers"]?.AsArray() ?? []).Concat(pod["containers"]?.AsArray() ?? []).ToList();
        foreach (var duplicate in containers.GroupBy(c => (string?)c!["name"]).Where(g => g.Count() > 1))
        {
            yield return $"{label}: container {duplicate.Key} is declared {duplicate.Count()} times";
        }

        var volumes = (pod["volumes"]?.AsArray() ?? []).Select(v => (string?)v!["name"]).ToHashSet();
        foreach (var container in containers)
        {
            var mounts = container!["volumeMounts"]?.AsArray() ?? [];
            foreach (var duplicate in mounts.GroupBy(m => ((string?)m!["mountPath"])?.TrimEnd('/')).Where(g => g.Count() > 1))
            {
                yield return $"{label}: container {container["name"]} mounts {duplicate.Count()} volumes at {duplicate.Key}";
            }

            foreach (var missing in mounts.Select(m => (string?)m!["name"]).Where(n => !volumes.Contains(n)))
            {
                yield return $"{label}: container {container["name"]} mounts volume {missing}, which the pod does not declare";
            }
        }
    }

    private static async Task<List<SchemaResult>> JsonSchemaResultsAsync(List<JsonNode> objects)
    {
        var servers = Path.Combine(Daemon.RepoRoot, "tests", "servers");
        if (!Directory.Exists(Path.Combine(servers, "node_modules", "kubernetes-models")))
        {
            throw new InvalidOperationException("kubernetes-models is not installed: run scripts/test-deps.sh (npm ci in tests/servers)");
        }

        var start = new ProcessStartInfo("node", "validate-manifests.mjs")
        {
            WorkingDirectory = servers,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(new JsonArray(objects.Select(o => o.DeepClone()).ToArray()).ToJsonString());
        process.StandardInput.Close();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, await stderr);
        var results = JsonSerializer.Deserialize<List<SchemaResult>>(await stdout, new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
        Assert.Equal(objects.Count, results.Count);
        return results;
    }

    private sealed record SchemaResult(string Kind, string Name, List<string> Errors);
}
