using System.Runtime.InteropServices;

namespace ConfigSync.Sources.Git;

/// <summary>
/// Reads blobs straight from libgit2 (the native library LibGit2Sharp ships), on a repository handle
/// of its own. LibGit2Sharp's <c>Blob</c> looks its object up again for the size and again for the
/// content stream, and libgit2 caches no blobs, so each file was inflated from the pack three times;
/// here it is inflated once, and its bytes are written from libgit2's buffer without a copy.
/// A handle is not thread-safe: one reader per writer.
/// </summary>
internal sealed unsafe partial class BlobReader : IDisposable
{
    private const string Native = LibGit2Settings.Native;
    private const int OidSize = 20;
    private const int Chunk = 80 * 1024;
    private readonly string _gitFolder;
    private nint _repository;

    static BlobReader()
    {
        // Reference-counted; LibGit2Sharp initializes it too once it has run a git operation.
        if (Init() < 0)
        {
            throw new InvalidOperationException("libgit2 could not be initialized");
        }
    }

    public BlobReader(string gitFolder)
    {
        _gitFolder = gitFolder;
        Check(RepositoryOpen(out _repository, gitFolder), $"cannot open the object cache {gitFolder}");
    }

    /// <summary>Writes the content of blob <paramref name="sha"/> to <paramref name="destination"/>.</summary>
    public void CopyTo(string sha, Stream destination, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_repository == 0, this);
        Span<byte> oid = stackalloc byte[OidSize];
        ParseOid(sha, oid);

        nint blob;
        fixed (byte* id = oid)
        {
            Check(BlobLookup(out blob, _repository, id), $"cannot read blob {sha} from {_gitFolder}");
        }

        try
        {
            var size = checked((long)BlobRawSize(blob));
            var content = (byte*)BlobRawContent(blob);
            for (long offset = 0; offset < size; offset += Chunk)
            {
                cancellationToken.ThrowIfCancellationRequested();
                destination.Write(new ReadOnlySpan<byte>(content + offset, (int)Math.Min(Chunk, size - offset)));
            }
        }
        finally
        {
            BlobFree(blob);
        }
    }

    /// <summary>The raw bytes of any object (a commit's headers and message, as hashed), from the object database.</summary>
    public byte[] ReadObject(string sha)
    {
        ObjectDisposedException.ThrowIf(_repository == 0, this);
        Span<byte> oid = stackalloc byte[OidSize];
        ParseOid(sha, oid);

        Check(RepositoryOdb(out var odb, _repository), $"cannot open the object database of {_gitFolder}");
        try
        {
            nint found;
            fixed (byte* id = oid)
            {
                Check(OdbRead(out found, odb, id), $"cannot read object {sha} from {_gitFolder}");
            }

            try
            {
                return new ReadOnlySpan<byte>((byte*)OdbObjectData(found), checked((int)OdbObjectSize(found))).ToArray();
            }
            finally
            {
                OdbObjectFree(found);
            }
        }
        finally
        {
            OdbFree(odb);
        }
    }

    public void Dispose()
    {
        if (_repository != 0)
        {
            RepositoryFree(_repository);
            _repository = 0;
        }
    }

    private static void ParseOid(string sha, Span<byte> oid)
    {
        if (sha.Length != OidSize * 2 || Convert.FromHexString(sha, oid, out _, out var written) != System.Buffers.OperationStatus.Done || written != OidSize)
        {
            throw new SourceException($"'{sha}' is not a git object id");
        }
    }

    private static void Check(int result, string what)
    {
        if (result >= 0)
        {
            return;
        }

        var error = ErrorLast();
        var message = error == null || error->Message == null ? $"libgit2 error {result}" : Marshal.PtrToStringUTF8((nint)error->Message);
        throw new SourceException($"{what}: {message}");
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct GitError
    {
        public byte* Message;
        public int Class;
    }

    [LibraryImport(Native, EntryPoint = "git_libgit2_init")]
    private static partial int Init();

    [LibraryImport(Native, EntryPoint = "git_repository_open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RepositoryOpen(out nint repository, string path);

    [LibraryImport(Native, EntryPoint = "git_repository_free")]
    private static partial void RepositoryFree(nint repository);

    [LibraryImport(Native, EntryPoint = "git_blob_lookup")]
    private static partial int BlobLookup(out nint blob, nint repository, byte* oid);

    [LibraryImport(Native, EntryPoint = "git_blob_rawsize")]
    private static partial ulong BlobRawSize(nint blob);

    [LibraryImport(Native, EntryPoint = "git_blob_rawcontent")]
    private static partial nint BlobRawContent(nint blob);

    [LibraryImport(Native, EntryPoint = "git_blob_free")]
    private static partial void BlobFree(nint blob);

    [LibraryImport(Native, EntryPoint = "git_repository_odb")]
    private static partial int RepositoryOdb(out nint odb, nint repository);

    [LibraryImport(Native, EntryPoint = "git_odb_read")]
    private static partial int OdbRead(out nint obj, nint odb, byte* oid);

    [LibraryImport(Native, EntryPoint = "git_odb_object_data")]
    private static partial nint OdbObjectData(nint obj);

    [LibraryImport(Native, EntryPoint = "git_odb_object_size")]
    private static partial nuint OdbObjectSize(nint obj);

    [LibraryImport(Native, EntryPoint = "git_odb_object_free")]
    private static partial void OdbObjectFree(nint obj);

    [LibraryImport(Native, EntryPoint = "git_odb_free")]
    private static partial void OdbFree(nint odb);

    [LibraryImport(Native, EntryPoint = "git_config_open_ondisk", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int ConfigOpenOnDisk(out nint config, string path);

    [LibraryImport(Native, EntryPoint = "git_config_set_string", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int ConfigSetString(nint config, string name, string value);

    [LibraryImport(Native, EntryPoint = "git_config_free")]
    private static partial void ConfigFree(nint config);

    /// <summary>
    /// Sets one value in a repository's own config file (<c>git_config_open_ondisk</c>), without
    /// LibGit2Sharp's <c>Repository.Config</c>: under NativeAOT its lookup of the global and system
    /// files comes back empty, and the config it then gives the repository ignores them (an
    /// <c>url.*.insteadOf</c> in ~/.gitconfig). libgit2's own loading of the repository finds them.
    /// </summary>
    public static void SetLocalConfig(string gitFolder, string name, string value)
    {
        Check(ConfigOpenOnDisk(out var config, Path.Combine(gitFolder, "config")), $"cannot open the config of {gitFolder}");
        try
        {
            Check(ConfigSetString(config, name, value), $"cannot set {name} in {gitFolder}");
        }
        finally
        {
            ConfigFree(config);
        }
    }

    [LibraryImport(Native, EntryPoint = "git_error_last")]
    private static partial GitError* ErrorLast();
}
