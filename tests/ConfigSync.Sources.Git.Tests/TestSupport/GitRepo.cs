namespace ConfigSync.Sources.Git.Tests.TestSupport;

/// <summary>A bare repository (the "server" side) and a work clone that commits and pushes to it, with the real git CLI.</summary>
public sealed class GitRepo
{
    public GitRepo(string root, string name = "config")
    {
        Bare = Path.Combine(root, "repos", name + ".git");
        Work = Path.Combine(root, "work-" + name);
        Directory.CreateDirectory(Bare);
        Shell.Run(Bare, "git", "init", "--bare", "--initial-branch=main", "-q");
        Shell.Run(root, "git", "clone", "-q", Bare, Work);
        Shell.Run(Work, "git", "checkout", "-q", "-b", "main");
    }

    public string Bare { get; }

    public string Work { get; }

    public string FileUrl => "file://" + Bare;

    public string Write(string path, string content, bool executable = false)
    {
        var full = Path.Combine(Work, path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
        if (executable)
        {
            File.SetUnixFileMode(full, (UnixFileMode)Convert.ToInt32("755", 8));
        }

        return full;
    }

    public void Symlink(string path, string target) => File.CreateSymbolicLink(Path.Combine(Work, path), target);

    public void Delete(string path) => File.Delete(Path.Combine(Work, path));

    public string Commit(string message, string branch = "main")
    {
        Shell.Run(Work, "git", "add", "-A");
        Shell.Run(Work, "git", "commit", "-q", "--allow-empty", "-m", message);
        Shell.Run(Work, "git", "push", "-q", "origin", $"HEAD:refs/heads/{branch}");
        return Head;
    }

    /// <summary>Commits everything signed (<c>commit -S</c>) with the given <c>-c key=value</c> signing settings, and pushes.</summary>
    public string SignedCommit(string message, params string[] signing)
    {
        Shell.Run(Work, "git", "add", "-A");
        Shell.Run(Work, "git", [.. signing.SelectMany(c => new[] { "-c", c }), "commit", "-q", "-S", "--allow-empty", "-m", message]);
        Shell.Run(Work, "git", "push", "-q", "origin", "HEAD:refs/heads/main");
        return Head;
    }

    /// <summary>The git source's settings for this repository over file://, with <paramref name="extra"/> added.</summary>
    public Dictionary<string, string?> SourceSettings(params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?> { ["url"] = FileUrl };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    public string Head => Shell.Run(Work, "git", "rev-parse", "HEAD");

    public void Git(params string[] arguments) => Shell.Run(Work, "git", arguments);
}
