using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace ConfigSync.Validation;

/// <summary>A JSON Schema (from the tree or from disk) checked against JSON or YAML files.</summary>
internal sealed class SchemaCheck
{
    private readonly JsonSchema _schema;

    private SchemaCheck(JsonSchema schema) => _schema = schema;

    /// <summary>Loads the schema; a problem goes to <paramref name="problems"/> and null is returned.</summary>
    public static SchemaCheck? Load(string schema, string tree, List<string> problems)
    {
        var path = Path.IsPathRooted(schema) ? schema : Path.Combine(tree, schema);
        try
        {
            // Parsed first with the shared depth limit (DocumentLimits.MaxDepth), which also gives a
            // syntax error its line and column; the schema library then reads text known to be bounded.
            if (Documents.ParseJson(path, out _) is { } problem)
            {
                problems.Add($"schema {schema}: {problem}");
                return null;
            }

            return new SchemaCheck(JsonSchema.FromText(File.ReadAllText(path)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add($"schema {schema}: cannot be read ({(e is FileNotFoundException or DirectoryNotFoundException ? "missing" : e.Message)})");
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException or NotSupportedException)
        {
            problems.Add($"schema {schema}: not a valid JSON Schema: {e.Message}");
        }

        return null;
    }

    /// <summary>Returns the problem of one file, or null when every document of it satisfies the schema.</summary>
    public string? Check(string path)
    {
        IReadOnlyList<JsonNode?> documents;
        if (Documents.IsYaml(path))
        {
            if (Documents.ParseYaml(path, out documents) is { } yamlProblem)
            {
                return yamlProblem;
            }
        }
        else
        {
            if (Documents.ParseJson(path, out var json) is { } jsonProblem)
            {
                return jsonProblem;
            }

            documents = [json];
        }

        foreach (var document in documents)
        {
            EvaluationResults result;
            try
            {
                result = _schema.Evaluate(document, new EvaluationOptions { OutputFormat = OutputFormat.List });
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // For example a $ref to another file: schemas are not fetched.
                return $"the schema cannot be evaluated: {e.Message}";
            }

            if (!result.IsValid)
            {
                var errors = result.Details
                    .Where(d => d.HasErrors)
                    .SelectMany(d => d.Errors!.Select(e => $"{(d.InstanceLocation.ToString() is { Length: > 0 } at ? at : "/")}: {e.Value}"))
                    .Distinct(StringComparer.Ordinal)
                    .Take(3)
                    .ToList();
                return "does not match the schema: " + (errors.Count == 0 ? "invalid" : string.Join(", ", errors));
            }
        }

        return null;
    }
}
