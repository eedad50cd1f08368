using System.Globalization;
using System.Text;

namespace ConfigSync.Sources.Git;

/// <summary>
/// libgit2 1.8 reaches ssh servers by running the OpenSSH <c>ssh</c> program named by
/// <c>core.sshCommand</c> (a bare path). This writes a wrapper script into the sync's cache that
/// adds the key, the known_hosts file, strict host key checking and a connect timeout.
/// The key is copied with mode 0600 (ssh refuses keys others can read, as Secret volumes often are).
/// </summary>
internal static class SshCommand
{
    /// <summary>The file the wrapper sends ssh's messages to: libgit2 reports only "could not read refs", ssh says why.</summary>
    public static string ErrorFile(string cacheDirectory) => Path.Combine(cacheDirectory, "ssh", "last-error");

    /// <summary>ssh's last message, or null.</summary>
    public static string? LastError(string cacheDirectory)
    {
        try
        {
            var text = File.ReadAllText(ErrorFile(cacheDirectory)).Trim();
            return text.Length == 0 ? null : string.Join(" ", text.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).TakeLast(3));
        }
        catch (IOException)
        {
            return null;
        }
    }

    public static string Write(string cacheDirectory, GitAuthOptions auth, TimeSpan connectTimeout)
    {
        var folder = Path.Combine(cacheDirectory, "ssh");
        Directory.CreateDirectory(folder);
        File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var script = new StringBuilder("#!/bin/sh\nexec ssh -F none -o BatchMode=yes");
        if (auth.SshKeyFile is { } key)
        {
            var copy = Path.Combine(folder, "key");
            try
            {
                var bytes = File.ReadAllBytes(key);
                File.WriteAllBytes(copy, bytes);
                File.SetUnixFileMode(copy, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new SourceException($"cannot read auth.sshKeyFile '{key}': {e.Message}");
            }

            script.Append(CultureInfo.InvariantCulture, $" -i {Quote(copy)} -o IdentitiesOnly=yes");
        }

        script.Append(auth.StrictHostKeyChecking
            ? $" -o StrictHostKeyChecking=yes -o UserKnownHostsFile={Quote(auth.KnownHostsFile ?? "/dev/null")}"
            : " -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null");
        script.Append(CultureInfo.InvariantCulture, $" -o ConnectTimeout={Math.Max(1, (int)connectTimeout.TotalSeconds)} -o ServerAliveInterval=15 -o ServerAliveCountMax=2 \"$@\" 2>{Quote(ErrorFile(cacheDirectory))}\n");

        var path = Path.Combine(folder, "ssh.sh");
        File.WriteAllText(path, script.ToString());
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    private static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
