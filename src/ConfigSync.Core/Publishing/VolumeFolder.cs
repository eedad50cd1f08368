using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace ConfigSync.Publishing;

/// <summary>
/// An open folder on the target volume. Every step below it is taken relative to the open folder
/// and never through a symbolic link (openat with O_NOFOLLOW, unlinkat, renameat, mkdirat): a link
/// or a file planted where ConfigSync expects one of its folders stops the step with an error that
/// names the path, and nothing is read, written or deleted through it, even if the volume changes
/// while ConfigSync works. Only the operator's <c>target.root</c> itself is opened through links.
/// </summary>
internal sealed class VolumeFolder : IDisposable
{
    private const uint PrivateFolderMode = 0x1ED; // 0755 before the umask; trees get their dirMode when sealed

    private VolumeFolder(Libc.FolderHandle handle, string path)
    {
        Handle = handle;
        Path = path;
    }

    /// <summary>The folder's path, for messages.</summary>
    public string Path { get; }

    /// <summary>The open descriptor.</summary>
    public Libc.FolderHandle Handle { get; }

    /// <summary>Opens the operator's root (links in it are followed: it is configuration, not volume content).</summary>
    public static VolumeFolder OpenRoot(string path)
    {
        var handle = Libc.OpenPath(path, Libc.OpenFolder, 0);
        if (handle.IsInvalid)
        {
            var errno = Marshal.GetLastPInvokeError();
            handle.Dispose();
            throw new PublishException(errno == Libc.NotFolder
                ? $"target.root: '{path}' is a file, not a folder"
                : $"target.root: cannot open '{path}': {Marshal.GetPInvokeErrorMessage(errno)}");
        }

        return new VolumeFolder(handle, path);
    }

    /// <summary>Opens the child folder <paramref name="name"/>, creating it when <paramref name="create"/> and absent.</summary>
    /// <exception cref="PublishException">It is a symbolic link, a file or something else.</exception>
    public VolumeFolder Open(string name, bool create = false)
    {
        if (create && Libc.MakeFolderAt(Handle, name, PrivateFolderMode) != 0 && Marshal.GetLastPInvokeError() != Libc.Exists)
        {
            throw Libc.LastError($"create folder '{Combine(name)}'");
        }

        return TryOpen(name) ?? throw new PublishException($"'{Combine(name)}' is missing");
    }

    /// <summary>Opens the child folder <paramref name="name"/>, or returns null when it does not exist.</summary>
    /// <exception cref="PublishException">It is a symbolic link, a file or something else.</exception>
    public VolumeFolder? TryOpen(string name)
    {
        var handle = Libc.OpenAt(Handle, name, Libc.OpenFolderNoFollow, 0);
        if (!handle.IsInvalid)
        {
            return new VolumeFolder(handle, Combine(name));
        }

        var errno = Marshal.GetLastPInvokeError();
        handle.Dispose();
        return errno switch
        {
            Libc.NoEntry => null,
            Libc.Loop => throw new PublishException($"'{Combine(name)}' is a symbolic link where ConfigSync keeps a folder of its own; it will not follow it (remove it to go on)"),
            Libc.NotFolder => throw new PublishException($"'{Combine(name)}' is {Describe(TypeOf(name))} where ConfigSync keeps a folder of its own; it will not replace it (remove it to go on)"),
            _ => throw new PublishException($"cannot open '{Combine(name)}': {Marshal.GetPInvokeErrorMessage(errno)}"),
        };
    }

    /// <summary>Opens a folder several levels down (<c>a/b/c</c>), each level without following links.</summary>
    public VolumeFolder OpenPath(string relative, bool create = false)
    {
        var current = this;
        foreach (var segment in relative.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var next = current.Open(segment, create);
            if (!ReferenceEquals(current, this))
            {
                current.Dispose();
            }

            current = next;
        }

        return ReferenceEquals(current, this) ? Open(".") : current;
    }

    /// <summary>The S_IFMT type bits of a child, not following a link; 0 when absent.</summary>
    public int TypeOf(string name) => Libc.TypeAt(Handle, name, out _);

    /// <summary>The names in this folder (not <c>.</c> and <c>..</c>), with their d_type.</summary>
    public List<(string Name, byte Type)> Entries()
    {
        var fd = Libc.Duplicate(Handle);
        if (fd < 0)
        {
            throw Libc.LastError($"read folder '{Path}'");
        }

        var stream = Libc.OpenFolderStream(fd);
        if (stream == 0)
        {
            throw Libc.LastError($"read folder '{Path}'");
        }

        var entries = new List<(string, byte)>();
        try
        {
            // Rewind: the duplicate shares the position of an earlier read of the same folder.
            for (var entry = Libc.ReadFolder(stream); entry != 0; entry = Libc.ReadFolder(stream))
            {
                // struct dirent (glibc and musl, 64-bit): d_ino 8, d_off 8, d_reclen 2, d_type 1, d_name.
                var type = Marshal.ReadByte(entry, 18);
                var name = Marshal.PtrToStringUTF8(entry + 19)!;
                if (name is not "." and not "..")
                {
                    entries.Add((name, type));
                }
            }
        }
        finally
        {
            _ = Libc.CloseFolderStream(stream);
        }

        return entries;
    }

    /// <summary>
    /// Deletes the child <paramref name="name"/>: a file or link is unlinked (a link's target is
    /// never touched), a folder is emptied depth first the same way and removed. Read-only folders
    /// of ConfigSync's trees are made writable for their owner first. Absent: nothing happens.
    /// </summary>
    public void Delete(string name)
    {
        if (Libc.UnlinkAt(Handle, name, 0) == 0)
        {
            return;
        }

        var errno = Marshal.GetLastPInvokeError();
        if (errno == Libc.NoEntry)
        {
            return;
        }

        // EISDIR (Linux) or EPERM (POSIX) for a folder: empty it through a descriptor that cannot be a link.
        using (var child = TryOpen(name))
        {
            if (child is null)
            {
                return;
            }

            _ = Libc.FileChmod(child.Handle, 0x1C0 | 0x1ED); // u+rwx, keeping 0755 for the instant it exists
            foreach (var (entry, _) in child.Entries())
            {
                child.Delete(entry);
            }
        }

        if (Libc.UnlinkAt(Handle, name, Libc.RemoveFolder) != 0 && Marshal.GetLastPInvokeError() != Libc.NoEntry)
        {
            throw Libc.LastError($"remove '{Combine(name)}'");
        }
    }

    /// <summary>Renames a child of this folder to <paramref name="newName"/> in <paramref name="to"/>, replacing what is there (rename(2) semantics; never follows a link).</summary>
    public void MoveTo(string name, VolumeFolder to, string newName)
    {
        if (Libc.RenameAt(Handle, name, to.Handle, newName) != 0)
        {
            throw Libc.LastError($"rename '{Combine(name)}' to '{to.Combine(newName)}'");
        }
    }

    /// <summary>Creates a symbolic link <paramref name="name"/> with the given target.</summary>
    public void CreateLink(string name, string target)
    {
        if (Libc.SymlinkAt(target, Handle, name) != 0)
        {
            throw Libc.LastError($"create link '{Combine(name)}'");
        }
    }

    /// <summary>
    /// Creates a new file with exactly <paramref name="mode"/>: O_CREAT | O_EXCL | O_NOFOLLOW, so never an
    /// existing file and never through a link, the mode set by the open itself (a separate fchmod only where
    /// the process umask would take bits away).
    /// </summary>
    public SafeFileHandle CreateFile(string name, UnixFileMode mode)
    {
        var file = Libc.OpenFileAt(Handle, name, Libc.CreateNewFile, (uint)mode);
        if (file.IsInvalid)
        {
            var errno = Marshal.GetLastPInvokeError();
            file.Dispose();
            throw errno switch
            {
                28 => new IOException($"No space left on device : '{Combine(name)}'", errno),
                36 => new PublishException($"'{Shortened(Combine(name))}': a name is too long for the target's file system"),
                _ => new IOException($"create '{Combine(name)}': {Marshal.GetPInvokeErrorMessage(errno)}", errno),
            };
        }

        if ((mode & Umask) != 0 && Libc.FileChmod(file, (uint)mode) != 0)
        {
            var error = Libc.LastError($"chmod '{Combine(name)}'");
            file.Dispose();
            throw error;
        }

        return file;
    }

    /// <summary>Creates <paramref name="name"/> if absent (mode 0644) and sets its modification time to now, never through a link.</summary>
    public void Touch(string name)
    {
        const int WriteCreate = 0x1 | 0x40 | 0x800; // O_WRONLY | O_CREAT | O_NONBLOCK
        using var file = Libc.OpenFileAt(Handle, name, WriteCreate | Libc.CloseOnExecNoFollow, 0x1A4);
        if (file.IsInvalid || Libc.TouchNow(file, 0) != 0)
        {
            throw Libc.LastError($"touch '{Combine(name)}'");
        }
    }

    /// <summary>Hard-links <paramref name="name"/> of <paramref name="from"/> to the same name here (linkat, no link followed); false when refused or absent.</summary>
    public bool LinkFrom(VolumeFolder from, string name) => Libc.LinkAt(from.Handle, name, Handle, name, 0) == 0;

    /// <summary>Removes the file or link <paramref name="name"/> (never a folder); absent: nothing happens.</summary>
    public void DeleteFile(string name)
    {
        if (Libc.UnlinkAt(Handle, name, 0) != 0 && Marshal.GetLastPInvokeError() is not Libc.NoEntry and not 21)
        {
            throw Libc.LastError($"remove '{Combine(name)}'");
        }
    }

    /// <summary>
    /// A path that reaches this very folder whatever happens to its ancestors meanwhile (<c>/proc/self/fd/N</c>),
    /// for code that takes paths (the validate checks, the manifest check); its own path where /proc is not mounted.
    /// </summary>
    public string PinnedPath => System.IO.Directory.Exists("/proc/self/fd") ? $"/proc/self/fd/{Handle.DangerousGetHandle()}" : Path;

    /// <summary>The process umask, read once from /proc/self/status (0777 where unknown: every mode is then set explicitly).</summary>
    internal static UnixFileMode Umask { get; } = ReadUmask();

    /// <summary>Reads a small file of ConfigSync's own (a manifest, a marker) without following a link; null when absent, a link, or larger than <paramref name="maxBytes"/>.</summary>
    public byte[]? ReadFile(string name, int maxBytes)
    {
        using var file = Libc.OpenFileAt(Handle, name, Libc.OpenReadNoFollow, 0);
        if (file.IsInvalid || Libc.TypeOf(file) != Libc.TypeFile)
        {
            return null;
        }

        var length = RandomAccess.GetLength(file);
        if (length > maxBytes)
        {
            return null;
        }

        var bytes = new byte[length];
        var read = 0;
        while (read < bytes.Length)
        {
            var n = Libc.ReadAt(file, bytes.AsSpan(read), read, $"read '{Combine(name)}'");
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        return read == bytes.Length ? bytes : bytes[..read];
    }

    /// <summary>Writes a file of ConfigSync's own atomically: a temporary name, fsync, rename over <paramref name="name"/>, fsync of this folder.</summary>
    public void WriteAtomically(string name, ReadOnlySpan<byte> bytes, UnixFileMode mode)
    {
        var temp = name + ".tmp";
        Delete(temp);
        using (var file = CreateFile(temp, mode))
        {
            Libc.WriteAt(file, bytes, 0, $"write '{Combine(temp)}'");
            if (Libc.FsyncHandle(file) != 0)
            {
                throw Libc.LastError($"fsync '{Combine(temp)}'");
            }
        }

        MoveTo(temp, this, name);
        Fsync();
    }

    /// <summary>
    /// Points the link <paramref name="name"/> at <paramref name="target"/> atomically: the new link is
    /// made in <paramref name="scratch"/> (ConfigSync's own staging folder, on the same file system) and
    /// renamed over the old one, so no temporary name ever appears beside the app's files.
    /// </summary>
    public void SwapLink(string name, string target, VolumeFolder scratch)
    {
        var temp = $"link-{Guid.NewGuid():N}";
        scratch.CreateLink(temp, target);
        try
        {
            scratch.MoveTo(temp, this, name);
        }
        catch
        {
            scratch.Delete(temp);
            throw;
        }

        Fsync();
    }

    /// <summary>Flushes the folder's entries to disk.</summary>
    public void Fsync()
    {
        if (Libc.FsyncHandle(Handle) != 0)
        {
            throw Libc.LastError($"fsync folder '{Path}'");
        }
    }

    /// <summary>The path of a child, for messages.</summary>
    public string Combine(string name) => System.IO.Path.Combine(Path, name);

    /// <inheritdoc />
    public void Dispose() => Handle.Dispose();

    private static string Shortened(string path) => path.Length <= 160 ? path : path[..60] + "..." + path[^80..];

    private static UnixFileMode ReadUmask()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("Umask:", StringComparison.Ordinal))
                {
                    return (UnixFileMode)Convert.ToInt32(line["Umask:".Length..].Trim(), 8);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return (UnixFileMode)0x1FF;
    }

    private static string Describe(int type) => type switch
    {
        Libc.TypeFile => "a file",
        Libc.TypeLink => "a symbolic link",
        0 => "missing",
        _ => "not a folder",
    };
}
