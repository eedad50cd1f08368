namespace ConfigSync.Sync;

/// <summary>Creates the private state folders: <c>stateDir</c> and each sync's folder in it, mode 0700.</summary>
internal static class PrivateFolder
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Creates <paramref name="syncFolder"/> inside <paramref name="stateDir"/>, both owner-only; an existing sync folder is made owner-only again.</summary>
    /// <exception cref="IOException">It cannot be made (the message names stateDir and the fix).</exception>
    public static void Create(string stateDir, string syncFolder)
    {
        if (stateDir.Length == 0)
        {
            throw new IOException("stateDir: no private state folder is set and neither XDG_STATE_HOME nor a home folder is known; set stateDir (or CONFIGSYNC_STATEDIR) to a folder only ConfigSync's user can read, e.g. an emptyDir");
        }

        try
        {
            if (!Directory.Exists(stateDir))
            {
                Directory.CreateDirectory(stateDir, OwnerOnly);
            }

            var info = new DirectoryInfo(syncFolder);
            if (info.LinkTarget is not null)
            {
                throw new IOException($"stateDir: '{syncFolder}' is a symbolic link; ConfigSync keeps credentials there and will not follow it");
            }

            if (!info.Exists)
            {
                Directory.CreateDirectory(syncFolder, OwnerOnly);
            }
            else if ((info.UnixFileMode & ~OwnerOnly) != 0)
            {
                info.UnixFileMode = OwnerOnly;
            }
        }
        catch (UnauthorizedAccessException e)
        {
            throw new IOException($"stateDir: cannot create '{syncFolder}' ({e.Message}); point stateDir at a writable folder only ConfigSync's user can read (in a pod, an emptyDir)", e);
        }
        catch (IOException e) when (!e.Message.StartsWith("stateDir:", StringComparison.Ordinal))
        {
            throw new IOException($"stateDir: cannot create '{syncFolder}' ({e.Message}); point stateDir at a writable folder only ConfigSync's user can read (in a pod, an emptyDir)", e);
        }
    }
}
