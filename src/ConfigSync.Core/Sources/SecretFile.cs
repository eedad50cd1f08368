using ConfigSync.Diagnostics;

namespace ConfigSync.Sources;

/// <summary>Reads a credential from a file (a mounted Secret): trimmed, registered with <see cref="Redact"/> so it is never printed.</summary>
public static class SecretFile
{
    /// <summary>Reads <paramref name="file"/>; a failure names <paramref name="setting"/> and the file, never the content.</summary>
    /// <exception cref="SourceException">The file cannot be read.</exception>
    public static string Read(string file, string setting)
    {
        try
        {
            var secret = File.ReadAllText(file).Trim();
            Redact.Register(secret);
            return secret;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SourceException($"cannot read {setting} '{file}': {e.Message}");
        }
    }
}
