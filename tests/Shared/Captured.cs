namespace ConfigSync.Tests.TestSupport;

/// <summary>
/// The suite-wide secrets check: tests register the credentials they use, and everything ConfigSync
/// prints or serves during the run (daemon logs, error messages, /status, /metrics) is recorded;
/// scripts/test.sh searches the record for the credentials after the run and fails on any hit.
/// Files: artifacts/test-results/capture/{output,secrets}-PID.txt.
/// </summary>
public static class Captured
{
    private static readonly Lock Gate = new();
    private static readonly string Folder = Path.Combine(NodeServer.RepoRoot(), "artifacts", "test-results", "capture");
    private static readonly int Pid = Environment.ProcessId;

    /// <summary>A credential a test uses, which must never appear in what ConfigSync prints or serves.</summary>
    public static string Secret(string value)
    {
        Append("secrets", value.ReplaceLineEndings(" ") + "\n");
        return value;
    }

    /// <summary>Text ConfigSync printed or served.</summary>
    public static void Record(string? text)
    {
        if (!string.IsNullOrEmpty(text))
        {
            Append("output", text + "\n");
        }
    }

    private static void Append(string kind, string text)
    {
        lock (Gate)
        {
            Directory.CreateDirectory(Folder);
            File.AppendAllText(Path.Combine(Folder, $"{kind}-{Pid}.txt"), text);
        }
    }
}
