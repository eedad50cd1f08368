using System.Text.Json;
using ConfigSync.Configuration;
using ConfigSync.Publishing;
using Microsoft.Extensions.Logging;

namespace ConfigSync.Sync;

/// <summary>
/// The touch file and the error file of a sync (<c>touchFile</c>, <c>errorFile</c>), as git-sync keeps them:
/// the touch file's mtime moves after each sync that published and after the first success; the error file
/// holds the last error as JSON (<c>{"Msg","Err","Args"}</c>, git-sync's shape) while the sync fails and is
/// removed by a success. Neither can fail a sync: a write that fails is logged.
/// </summary>
internal sealed partial class StatusFiles(SyncSettings settings, ILogger logger)
{
    private bool _touched;

    public void Succeeded(bool published)
    {
        if (settings.ErrorFile is { } errorFile)
        {
            Try(errorFile, () =>
            {
                using var folder = OpenParent(errorFile);
                folder.DeleteFile(Path.GetFileName(errorFile));
            });
        }

        if (settings.TouchFile is { } touchFile && (published || !_touched))
        {
            Try(touchFile, () =>
            {
                using var folder = OpenParent(touchFile);
                folder.Touch(Path.GetFileName(touchFile));
            });
            _touched = true;
        }
    }

    public void Failed(string error, int failures)
    {
        if (settings.ErrorFile is not { } errorFile)
        {
            return;
        }

        Try(errorFile, () =>
        {
            using var buffer = new MemoryStream();
            using (var json = new Utf8JsonWriter(buffer))
            {
                json.WriteStartObject();
                json.WriteString("Msg", "error syncing repo, will retry");
                json.WriteString("Err", error);
                json.WriteStartObject("Args");
                json.WriteNumber("failCount", failures);
                json.WriteString("sync", settings.Name);
                json.WriteEndObject();
                json.WriteEndObject();
            }

            using var folder = OpenParent(errorFile);
            folder.WriteAtomically(Path.GetFileName(errorFile), buffer.ToArray(), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        });
    }

    /// <summary>
    /// The folder of a status file, open. Under the target root (where the app and other containers can write) it is
    /// reached from the root one folder at a time without following links, so a folder swapped for a link never
    /// sends the write elsewhere; elsewhere the operator's path is taken as it is. Missing folders are created.
    /// </summary>
    private VolumeFolder OpenParent(string path)
    {
        var parent = Path.GetDirectoryName(path)!;
        var root = settings.Target.Root.TrimEnd('/');
        if (root.Length > 0 && (parent == root || parent.StartsWith(root + "/", StringComparison.Ordinal)))
        {
            Directory.CreateDirectory(root);
            using var rootFolder = VolumeFolder.OpenRoot(root);
            return rootFolder.OpenPath(Path.GetRelativePath(root, parent), create: true);
        }

        Directory.CreateDirectory(parent);
        return VolumeFolder.OpenRoot(parent);
    }

    private void Try(string path, Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PublishException)
        {
            LogFailed(logger, settings.Name, path, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Sync}: could not update {Path}: {Reason}")]
    private static partial void LogFailed(ILogger logger, string sync, string path, string reason);
}
