using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;

namespace ConfigSync.IntegrationTests.Support;

/// <summary>
/// Checks Kubernetes objects against Kubernetes' own schemas, as an API server would before storing them, with two
/// independent checkers, each catching what the other cannot:
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

        foreach (var result in await JsonSchemaResultsAsync(list))
        {
            problems.AddRange(result.Errors.Select(e => $"{result.Kind} {result.Name}: {e}"));
        }

        return problems;
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
