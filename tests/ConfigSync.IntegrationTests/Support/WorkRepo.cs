using System.Diagnostics;

namespace ConfigSync.IntegrationTests.Support;

/// <summary>A bare repository (the "server", reached over file://) and a clone to commit and push from, made with the git CLI.</summary>
public sealed class WorkRepo
{
    public WorkRepo(string folder)
    {
        Bare = Path.Combine(folder, "repo.git");
        Work = Path.Combine(folder, "work");
        Git(folder, "init", "-q", "--bare", "--initial-branch=main", Bare);
        Git(folder, "clone", "-q", Bare, Work);
        Git(Work, "checkout", "-q", "-b", "main");
    }

    public string Bare { get; }

    public string Work { get; }

    public string FileUrl => "file://" + Bare;

    /// <summary>Writes one file, commits everything and pushes to <paramref name="branch"/>; returns the commit.</summary>
    public string Commit(string path, string content, string message, string branch = "main")
    {
        var full = Path.Combine(Work, path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
        Git(Work, "add", "-A");
        Git(Work, "commit", "-q", "-m", message);
        Git(Work, "push", "-q", "origin", $"HEAD:refs/heads/{branch}");
        return Git(Work, "rev-parse", "HEAD");
    }

    public static string Git(string folder, params string[] arguments)
    {
        var start = new ProcessStartInfo("git") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["GIT_AUTHOR_NAME"] = start.Environment["GIT_COMMITTER_NAME"] = "Test";
        start.Environment["GIT_AUTHOR_EMAIL"] = start.Environment["GIT_COMMITTER_EMAIL"] = "test@example.com";
        start.Environment["GIT_CONFIG_GLOBAL"] = "/dev/null";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? output.Result.Trim() : throw new InvalidOperationException($"git {string.Join(' ', arguments)}: {error}");
    }
}
