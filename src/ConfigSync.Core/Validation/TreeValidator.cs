using ConfigSync.Configuration;
using ConfigSync.Diagnostics;
using ConfigSync.Sources;
using Microsoft.Extensions.FileSystemGlobbing;

namespace ConfigSync.Validation;

/// <summary>
/// Runs a sync's pre-publish checks on a staged tree, in order. The first check that finds a problem
/// rejects the revision with <see cref="RevisionRejectedException"/>, naming up to five offending files
/// (with line and column where the parser gives them); the tree is then never published.
/// </summary>
internal sealed class TreeValidator(string sync, IReadOnlyList<CheckSettings> checks)
{
    private const int MaxReported = 5;

    public bool IsEmpty => checks.Count == 0;

    /// <summary>Checks the staged tree at <paramref name="tree"/> whose regular files are <paramref name="files"/>.</summary>
    /// <param name="tree">Where this process reads the tree (a path pinned to the open folder).</param>
    /// <param name="revision">The revision, for commands.</param>
    /// <param name="files">The regular files, relative.</param>
    /// <param name="cancellationToken">Stops the checks.</param>
    /// <param name="commandTree">The tree's path as a command sees it (CONFIGSYNC_TREE, working folder); <paramref name="tree"/> when null.</param>
    public async Task ValidateAsync(string tree, string revision, IReadOnlyList<string> files, CancellationToken cancellationToken, string? commandTree = null)
    {
        foreach (var check in checks)
        {
            var problems = check.Type == CheckType.Exec
                ? await RunCommandAsync(check, commandTree ?? tree, revision, cancellationToken)
                : CheckFiles(check, tree, files, cancellationToken);
            if (problems.Count > 0)
            {
                var shown = string.Join("; ", problems.Take(MaxReported));
                var more = problems.Count > MaxReported ? $"; and {problems.Count - MaxReported} more" : string.Empty;
                throw new RevisionRejectedException(revision, check.Name, shown + more);
            }
        }
    }

    private static List<string> CheckFiles(CheckSettings check, string tree, IReadOnlyList<string> files, CancellationToken cancellationToken)
    {
        var matcher = new Matcher(StringComparison.Ordinal);
        matcher.AddIncludePatterns(check.Files);
        var selected = files.Where(f => matcher.Match(f).HasMatches).ToList();
        var problems = check.Files
            .Where(p => p.IndexOfAny(['*', '?', '[', '{']) < 0 && !files.Contains(p, StringComparer.Ordinal))
            .Select(p => $"{p}: missing (named in files)")
            .ToList();
        var schema = check.Type == CheckType.JsonSchema ? SchemaCheck.Load(check.Schema!, tree, problems) : null;
        if (check.Type == CheckType.JsonSchema && schema is null)
        {
            return problems;
        }

        foreach (var file in selected)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var path = Path.Combine(tree, file);
            var problem = check.Type switch
            {
                CheckType.Json => Documents.ParseJson(path, out _),
                CheckType.Yaml => Documents.ParseYaml(path),
                _ => schema!.Check(path),
            };
            if (problem is not null)
            {
                problems.Add($"{file}: {problem}");
            }
        }

        return problems;
    }

    private async Task<List<string>> RunCommandAsync(CheckSettings check, string tree, string revision, CancellationToken cancellationToken)
    {
        var environment = new Dictionary<string, string>
        {
            ["CONFIGSYNC_SYNC"] = sync,
            ["CONFIGSYNC_REVISION"] = revision,
            ["CONFIGSYNC_TREE"] = tree,
        };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(check.Timeout);
        ProcessResult result;
        try
        {
            result = await ChildProcess.RunAsync(check.Command, tree, environment, cancellationToken: timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return [$"{check.Command[0]} did not finish within {DurationParser.Format(check.Timeout)}"];
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return [$"{check.Command[0]} could not be started: {e.Message}"];
        }

        if (result.ExitCode == 0)
        {
            return [];
        }

        var tail = result.Tail();
        return [$"{check.Command[0]} exited with {result.ExitCode}{(tail.Length > 0 ? ": " + tail : string.Empty)}"];
    }
}
