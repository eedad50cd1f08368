using System.Security.Cryptography;

namespace ConfigSync.Publishing;

/// <summary>Checking a tree on the volume against its manifest, through folders opened without following links.</summary>
internal sealed partial class TreePublisher
{
    /// <summary>Checks a tree against its manifest: same entries, sizes, modes, links and SHA-256 of every file.</summary>
    /// <remarks>Files are opened without following links and without blocking (a FIFO planted in the tree is a mismatch, not a hang).</remarks>
    internal static string? Verify(string treePath, Manifest manifest)
    {
        if (!Directory.Exists(treePath))
        {
            return $"its folder '{treePath}' is missing";
        }

        var expected = manifest.Files.ToDictionary(f => f.Path, StringComparer.Ordinal);
        var seen = 0;
        foreach (var path in Directory.EnumerateFileSystemEntries(treePath, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            var relative = Path.GetRelativePath(treePath, path);
            var info = new FileInfo(path);
            if (relative == InTreeManifest || (Directory.Exists(path) && info.LinkTarget is null))
            {
                continue;
            }

            if (!expected.TryGetValue(relative, out var file))
            {
                return $"'{PathRules.Shown(relative)}' is not in the manifest";
            }

            seen++;
            if (file.Link is not null)
            {
                if (info.LinkTarget != file.Link)
                {
                    return $"'{PathRules.Shown(relative)}' is not the link the manifest lists";
                }

                continue;
            }

            using var content = Libc.OpenFile(path, Libc.OpenReadNoFollow, 0);
            if (content.IsInvalid || Libc.TypeOf(content) != Libc.TypeFile || info.Length != file.Size || info.UnixFileMode != file.UnixMode)
            {
                return $"'{PathRules.Shown(relative)}' differs from the manifest in type, size or mode";
            }

            using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[81920];
            long offset = 0;
            int read;
            while ((read = Libc.ReadAt(content, buffer, offset, $"read '{relative}'")) > 0)
            {
                sha.AppendData(buffer, 0, read);
                offset += read;
            }

            if (Convert.ToHexStringLower(sha.GetHashAndReset()) != file.Sha256)
            {
                return $"'{PathRules.Shown(relative)}' does not match its SHA-256";
            }
        }

        return seen == expected.Count ? null : $"{expected.Count - seen} files of the manifest are missing";
    }

    /// <summary>Opens a tree of this layout below the root without following links; null when it is gone or not a real folder.</summary>
    private VolumeFolder? TryOpenTree(Volume volume, string treeId)
    {
        if (!_layout.IsTreeId(treeId))
        {
            return null;
        }

        try
        {
            return volume.Root.OpenPath(Path.GetRelativePath(_paths.Root, _layout.TreePath(treeId)));
        }
        catch (PublishException)
        {
            return null;
        }
    }

    /// <summary>Verifies the live tree through the folder held open, so what is checked is the tree below the root and nothing a link leads to.</summary>
    private string? VerifyLive(Volume volume, string liveId, Manifest live)
    {
        using var tree = TryOpenTree(volume, liveId);
        if (tree is null)
        {
            return $"its folder '{_layout.TreePath(liveId)}' is missing or not a real folder";
        }

        try
        {
            return Verify(tree.PinnedPath, live);
        }
        catch (IOException e)
        {
            return e.Message;
        }
    }
}
