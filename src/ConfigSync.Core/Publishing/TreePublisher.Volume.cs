namespace ConfigSync.Publishing;

/// <summary>The root and ConfigSync's folders in it, opened for one operation without following links.</summary>
internal sealed partial class TreePublisher
{
    /// <summary>Opens the root and ConfigSync's folders in it, creating what is missing; a link or a file in their place is refused by name.</summary>
    private Volume OpenVolume()
    {
        Directory.CreateDirectory(_paths.Root);
        var root = VolumeFolder.OpenRoot(_paths.Root);
        VolumeFolder? state = null, manifests = null;
        try
        {
            state = root.Open(".configsync", create: true);
            state.Open("trees", create: true).Dispose();

            manifests = state.Open("manifests", create: true);
            var staging = state.Open("staging", create: true);
            return new Volume(root, state, manifests, staging);
        }
        catch
        {
            manifests?.Dispose();
            state?.Dispose();
            root.Dispose();
            throw;
        }
    }

    /// <summary>Gives every folder of a staged tree the folder mode, through descriptors (a link in the tree is never followed).</summary>
    private static void SealFolders(VolumeFolder folder, UnixFileMode dirMode)
    {
        const byte FolderType = 4; // DT_DIR
        foreach (var (name, type) in folder.Entries())
        {
            if (type == FolderType || (type == 0 && folder.TypeOf(name) == Libc.TypeFolder))
            {
                using var child = folder.Open(name);
                SealFolders(child, dirMode);
            }
        }

        if (Libc.FileChmod(folder.Handle, (uint)dirMode) != 0)
        {
            throw Libc.LastError($"chmod '{folder.Path}'");
        }
    }

    /// <summary>The root and ConfigSync's folders in it, open for one operation.</summary>
    private sealed record Volume(VolumeFolder Root, VolumeFolder State, VolumeFolder Manifests, VolumeFolder Staging) : IDisposable
    {
        public void Dispose()
        {
            Staging.Dispose();
            Manifests.Dispose();
            State.Dispose();
            Root.Dispose();
        }
    }
}
