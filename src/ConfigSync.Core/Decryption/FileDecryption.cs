using System.Runtime.InteropServices;
using System.Security.Cryptography;
using ConfigSync.Configuration;
using ConfigSync.Publishing;
using ConfigSync.Sources;
using Microsoft.Extensions.FileSystemGlobbing;

namespace ConfigSync.Decryption;

/// <summary>
/// SOPS decryption as one publish writes its tree: the files <c>decrypt.sops.files</c> selects are read into memory,
/// decrypted there, and only the plaintext is written to the staged tree (never the encrypted bytes first, never a
/// temporary copy); a file without SOPS metadata is written as it came. A file that cannot be decrypted rejects the
/// revision by name, and the publisher removes the staged tree, so no plaintext of it stays behind.
/// </summary>
internal sealed class FileDecryption
{
    /// <summary>The manifest's mark of a file selected for decryption: a file is reused from the live tree only under the same mark.</summary>
    public const string Transform = "sops";

    private const long Tmpfs = 0x01021994;
    private const long Ramfs = unchecked((long)0x858458f6);
    private readonly SopsDecryptor _decryptor;
    private readonly Matcher _files;
    private readonly string _revision;
    private readonly long _maxBytes;

    private FileDecryption(SopsDecryptor decryptor, Matcher files, string revision, long maxBytes)
    {
        _decryptor = decryptor;
        _files = files;
        _revision = revision;
        _maxBytes = maxBytes;
    }

    /// <summary>
    /// Reads the keys (each publish: a rotated Secret is picked up) and checks where plaintext would go: only to a
    /// memory-backed file system unless <c>decrypt.allowDiskTarget</c>. Throws <see cref="PublishException"/> naming the setting.
    /// </summary>
    public static async Task<FileDecryption> CreateAsync(DecryptSettings settings, SafeHandle stagedFolder, string targetRoot, string? stateFolder, string revision, long maxBytes, CancellationToken cancellationToken)
    {
        var fileSystem = Libc.FileSystemType(stagedFolder);
        if (!settings.AllowDiskTarget && fileSystem != Tmpfs && fileSystem != Ramfs)
        {
            throw new PublishException($"decrypt: target.root {targetRoot} is not on a memory-backed file system (tmpfs), so decrypted secrets would reach a disk; mount an emptyDir with medium: Memory there, or set decrypt.allowDiskTarget: true");
        }

        var sources = new List<IDataKeySource>();
        try
        {
            if (settings.Sops.AgeKeyFile is { } ageKeyFile)
            {
                sources.Add(AgeKeySource.FromFile(ageKeyFile));
            }

            if (settings.Sops.GpgKeysFile is not null || settings.Sops.GpgHome is not null)
            {
                var home = stateFolder ?? throw new PublishException("decrypt.sops.gpgKeysFile needs the daemon's state folder (stateDir) for its keyring");
                Directory.CreateDirectory(home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                // The keyring holds the OpenPGP secret keys, unprotected: the same rule as the plaintext.
                if (settings.Sops.GpgKeysFile is not null && !settings.AllowDiskTarget && !MemoryBacked(home))
                {
                    throw new PublishException($"decrypt.sops.gpgKeysFile: the keyring would be made in {home}, which is not on a memory-backed file system; put stateDir on tmpfs (the chart's stateVolume.medium: Memory), or set decrypt.allowDiskTarget: true");
                }

                sources.Add(await GpgKeySource.CreateAsync(settings.Sops.GpgKeysFile, settings.Sops.GpgHome, home, cancellationToken));
            }
        }
        catch (SopsException e)
        {
            throw new PublishException(e.Message);
        }

        var files = new Matcher(StringComparison.Ordinal);
        files.AddIncludePatterns(settings.Sops.Files);
        return new FileDecryption(new SopsDecryptor(sources), files, revision, maxBytes);
    }

    public bool Selects(string path) => _files.Match(path).HasMatches;

    private static bool MemoryBacked(string folder) => Libc.FileSystemType(folder) is Tmpfs or Ramfs;

    public async Task<ManifestFile> FetchAsync(SourceSnapshot snapshot, SourceEntry entry, UnixFileMode mode, VolumeFolder folder, string name, ByteBudget budget, TransferProgress progress, CancellationToken cancellationToken)
    {
        byte[] encrypted;
        using (var buffer = new CappedMemoryStream(entry.Path, _maxBytes))
        {
            await snapshot.WriteContentAsync(entry, buffer, cancellationToken);
            encrypted = buffer.ToArray();
        }

        if (entry.Size >= 0 && encrypted.Length != entry.Size)
        {
            throw new SourceException($"'{entry.Path}': the source listed {entry.Size} bytes but sent {encrypted.Length}; it changed during the sync and will be retried");
        }

        byte[]? plaintext;
        try
        {
            plaintext = await _decryptor.DecryptAsync(entry.Path, encrypted, cancellationToken);
        }
        catch (SopsException e)
        {
            throw new RevisionRejectedException(_revision, "decrypt", $"'{entry.Path}': SOPS: {e.Message}");
        }

        var content = plaintext ?? encrypted;
        try
        {
            budget.Take(content.Length, entry.Path);
            using (var file = folder.CreateFile(name, mode))
            {
                RandomAccess.Write(file, content, 0);
            }

            progress.AddBytes(encrypted.Length);
            return new ManifestFile(entry.Path, content.Length, Convert.ToHexStringLower(SHA256.HashData(content)), ManifestFile.FormatMode(mode), entry.Version)
            {
                Transform = Transform,
                SourceSha256 = plaintext is null ? null : Convert.ToHexStringLower(SHA256.HashData(encrypted)),
            };
        }
        finally
        {
            if (plaintext is not null)
            {
                CryptographicOperations.ZeroMemory(plaintext);
            }
        }
    }

    /// <summary>A memory stream that refuses to grow past the tree's byte limit (a source that sends more than it listed).</summary>
    private sealed class CappedMemoryStream(string path, long limit) : MemoryStream
    {
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Check(buffer.Length);
            base.Write(buffer);
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            Check(count);
            base.Write(buffer, offset, count);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Check(count);
            return base.WriteAsync(buffer, offset, count, cancellationToken);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Check(buffer.Length);
            return base.WriteAsync(buffer, cancellationToken);
        }

        private void Check(int count)
        {
            if (Length + count > limit)
            {
                throw new PublishException($"refused the revision: '{path}' is larger than limits.maxBytes ({limit} bytes)");
            }
        }
    }
}

/// <summary>What <c>configsync validate</c> checks of the keys: they exist and parse. Nothing of them is printed.</summary>
public static class DecryptionKeyCheck
{
    /// <summary>Every problem of the keys of <paramref name="sync"/>'s decrypt settings, each naming the setting; empty when none.</summary>
    public static async Task<IReadOnlyList<string>> ProblemsAsync(SyncSettings sync, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        if (sync.Decrypt?.Sops is not { } sops)
        {
            return problems;
        }

        if (sops.AgeKeyFile is not null)
        {
            try
            {
                AgeKeySource.FromFile(sops.AgeKeyFile);
            }
            catch (SopsException e)
            {
                problems.Add($"syncs.{sync.Name}: {e.Message}");
            }
        }

        if (sops.GpgKeysFile is { } keys)
        {
            var home = Directory.CreateTempSubdirectory("configsync-gpg-check-");
            try
            {
                var result = await Diagnostics.ChildProcess.RunAsync(
                    ["gpg", "--homedir", home.FullName, "--batch", "--quiet", "--import-options", "show-only", "--import", keys],
                    cancellationToken: cancellationToken);
                if (result.ExitCode != 0 || !File.Exists(keys))
                {
                    problems.Add($"syncs.{sync.Name}: decrypt.sops.gpgKeysFile {keys}: not a file of OpenPGP keys gpg can read (exit {result.ExitCode})");
                }
            }
            catch (System.ComponentModel.Win32Exception)
            {
                problems.Add($"syncs.{sync.Name}: decrypt.sops.gpgKeysFile needs the gpg program, which is not installed");
            }
            finally
            {
                home.Delete(recursive: true);
            }
        }

        if (sops.GpgHome is { } gpgHome && !Directory.Exists(gpgHome))
        {
            problems.Add($"syncs.{sync.Name}: decrypt.sops.gpgHome {gpgHome}: no such folder");
        }

        return problems;
    }
}
