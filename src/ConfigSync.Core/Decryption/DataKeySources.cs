using System.Security.Cryptography;
using System.Text;
using ConfigSync.Diagnostics;

namespace ConfigSync.Decryption;

/// <summary>
/// Recovers a SOPS file's data key from the master keys of one type. Age and OpenPGP are here; AWS KMS and Azure Key
/// Vault can follow as one class each, with the identities the S3 and Azure Blob sources already have.
/// </summary>
public interface IDataKeySource
{
    /// <summary>The metadata's name for the key type this source opens (<c>age</c>, <c>pgp</c>, <c>kms</c>, <c>azure_kv</c>).</summary>
    string Type { get; }

    /// <summary>The data key from the first of <paramref name="keys"/> (all of <see cref="Type"/>) this source opens, or null when it opens none.</summary>
    Task<byte[]?> TryRecoverAsync(IReadOnlyList<SopsMasterKey> keys, CancellationToken cancellationToken);
}

/// <summary>age X25519 identities from a key file (several lines allowed); the file is read when the source is made.</summary>
public sealed class AgeKeySource(IReadOnlyList<AgeIdentity> identities) : IDataKeySource
{
    /// <inheritdoc />
    public string Type => "age";

    /// <summary>The recipients of the identities (public: safe to show).</summary>
    public IEnumerable<string> Recipients => identities.Select(i => i.Recipient);

    /// <summary>Reads <paramref name="path"/>; the error names the file and the reason, never its text.</summary>
    public static AgeKeySource FromFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SopsException($"decrypt.sops.ageKeyFile {path}: cannot be read ({e.GetType().Name})");
        }

        return new AgeKeySource(AgeIdentity.ParseFile(text, $"decrypt.sops.ageKeyFile {path}"));
    }

    /// <inheritdoc />
    public Task<byte[]?> TryRecoverAsync(IReadOnlyList<SopsMasterKey> keys, CancellationToken cancellationToken)
    {
        var recipients = identities.Select(i => i.Recipient).ToHashSet(StringComparer.Ordinal);
        // The recipient a stanza names is only a hint (anyone can write it): try those first, then the rest.
        foreach (var key in keys.OrderBy(k => recipients.Contains(k.Id) ? 0 : 1))
        {
            try
            {
                return Task.FromResult<byte[]?>(Age.Decrypt(Encoding.ASCII.GetBytes(key.EncryptedKey), identities));
            }
            catch (SopsException)
            {
                // Not for these identities, or damaged: the next master key may still open the file.
            }
        }

        return Task.FromResult<byte[]?>(null);
    }
}

/// <summary>
/// OpenPGP through gpg, with a keyring of the daemon's own: made in the private state folder from the exported secret
/// keys of <c>gpgKeysFile</c>, or an existing GnuPG home (<c>gpgHome</c>).
/// </summary>
public sealed class GpgKeySource : IDataKeySource
{
    private const string GpgMissing = "decrypt.sops: OpenPGP keys need the gpg program, which is not installed";
    private readonly string _home;

    private GpgKeySource(string home) => _home = home;

    /// <inheritdoc />
    public string Type => "pgp";

    /// <summary>
    /// A keyring in <paramref name="stateFolder"/>/gnupg made from <paramref name="keysFile"/> (made again each time, so
    /// the keyring holds exactly the keys the Secret holds now), or the GnuPG home <paramref name="gpgHome"/> as it is.
    /// </summary>
    public static async Task<GpgKeySource> CreateAsync(string? keysFile, string? gpgHome, string stateFolder, CancellationToken cancellationToken)
    {
        if (gpgHome is not null)
        {
            return new GpgKeySource(gpgHome);
        }

        // Made again from the key file at each publish, so a key removed from the Secret is gone from the keyring too;
        // the old keyring's gpg-agent is stopped first (it would outlive its folder).
        var home = Path.Combine(stateFolder, "gnupg");
        if (Directory.Exists(home))
        {
            await RunAsync(["gpgconf", "--homedir", home, "--kill", "gpg-agent"], home, cancellationToken);
            Directory.Delete(home, recursive: true);
        }

        Directory.CreateDirectory(home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var result = await RunAsync(Gpg(home, "--import", keysFile!), home, cancellationToken);
        if (result.ExitCode != 0)
        {
            throw new SopsException($"decrypt.sops.gpgKeysFile {keysFile}: gpg could not import it (exit {result.ExitCode})");
        }

        return new GpgKeySource(home);
    }

    /// <inheritdoc />
    public async Task<byte[]?> TryRecoverAsync(IReadOnlyList<SopsMasterKey> keys, CancellationToken cancellationToken)
    {
        foreach (var key in keys)
        {
            if (await DecryptAsync(_home, Encoding.ASCII.GetBytes(key.EncryptedKey), cancellationToken) is { } dataKey)
            {
                return dataKey;
            }
        }

        return null;
    }

    /// <summary>
    /// gpg --decrypt with the message on stdin; the data key's raw bytes from stdout (never text, never a file), or null.
    /// Only a message gpg decrypted with a secret key of this keyring counts: its status lines must show a public-key
    /// decryption (DECRYPTION_KEY, DECRYPTION_OKAY) and no failure. An unencrypted (literal or compressed) message, or
    /// one encrypted with a passphrase, would otherwise hand gpg's output, an attacker's bytes, to the decryptor as the
    /// data key. The output is cut at 64 bytes (a data key is 32) and gpg gets 30 seconds.
    /// </summary>
    private static async Task<byte[]?> DecryptAsync(string home, byte[] message, CancellationToken cancellationToken)
    {
        var command = Gpg(home, "--status-fd", "2", "--max-output", "64", "--decrypt");
        var start = new System.Diagnostics.ProcessStartInfo(command[0])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in command[1..])
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in Environment(home))
        {
            start.Environment[name] = value;
        }

        System.Diagnostics.Process process;
        try
        {
            process = System.Diagnostics.Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new SopsException(GpgMissing);
        }

        using (process)
        using (var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            limit.CancelAfter(TimeSpan.FromSeconds(30));
            try
            {
                var output = new byte[65];
                var reading = ReadUpToAsync(process.StandardOutput.BaseStream, output, limit.Token);
                var status = process.StandardError.ReadToEndAsync(limit.Token); // status lines and messages: read, never shown
                await process.StandardInput.BaseStream.WriteAsync(message, limit.Token);
                process.StandardInput.Close();
                var length = await reading;
                await process.WaitForExitAsync(limit.Token);
                var lines = (await status).Split('\n').Where(l => l.StartsWith("[GNUPG:] ", StringComparison.Ordinal)).Select(l => l[9..].Split(' ')[0]).ToHashSet(StringComparer.Ordinal);
                var decrypted = process.ExitCode == 0 && length <= 64
                    && lines.Contains("DECRYPTION_KEY") && lines.Contains("DECRYPTION_OKAY") && lines.Contains("BEGIN_DECRYPTION")
                    && !lines.Contains("DECRYPTION_FAILED") && !lines.Contains("NEED_PASSPHRASE_SYM");
                return decrypted ? output[..length] : null;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return null; // gpg took too long (a message built to make it work hard): not opened
            }
            finally
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }
            }
        }
    }

    /// <summary>Reads into <paramref name="buffer"/> until it is full or the stream ends; returns the number of bytes read.</summary>
    private static async Task<int> ReadUpToAsync(Stream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    /// <summary>gpg with the keyring <paramref name="home"/>, never asking anyone for anything, then <paramref name="arguments"/>.</summary>
    private static string[] Gpg(string home, params string[] arguments) =>
        ["gpg", "--homedir", home, "--batch", "--quiet", "--no-tty", "--pinentry-mode", "loopback", "--passphrase", string.Empty, .. arguments];

    private static Dictionary<string, string> Environment(string home) => new() { ["GNUPGHOME"] = home, ["LC_ALL"] = "C" };

    private static async Task<ProcessResult> RunAsync(IReadOnlyList<string> command, string home, CancellationToken cancellationToken)
    {
        try
        {
            return await ChildProcess.RunAsync(command, environment: Environment(home), cancellationToken: cancellationToken);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new SopsException(GpgMissing);
        }
    }
}

/// <summary>
/// Decrypts SOPS files: finds the metadata, recovers the data key with the configured key sources, decrypts every
/// value checking the MAC, and writes the plaintext in the file's own format without the <c>sops</c> block.
/// </summary>
public sealed class SopsDecryptor(IReadOnlyList<IDataKeySource> sources)
{
    /// <summary>The plaintext of <paramref name="content"/>, or null when it is not a SOPS file (published as it is).</summary>
    /// <exception cref="SopsException">A SOPS file that cannot be decrypted; the message names the reason, never a value.</exception>
    public async Task<byte[]?> DecryptAsync(string path, byte[] content, CancellationToken cancellationToken)
    {
        try
        {
            return await DecryptCheckedAsync(path, content, cancellationToken);
        }
        catch (Exception e) when (e is not SopsException and not OperationCanceledException)
        {
            // A malformed file this code did not foresee: refused like any other, by the kind of failure only (an
            // exception's message may quote what it read).
            throw new SopsException(e is System.Text.RegularExpressions.RegexMatchTimeoutException
                ? "a regular expression of its metadata took too long"
                : $"malformed ({e.GetType().Name})");
        }
    }

    private async Task<byte[]?> DecryptCheckedAsync(string path, byte[] content, CancellationToken cancellationToken)
    {
        if (SopsFormats.Read(path, content) is not { } document)
        {
            return null;
        }

        var metadata = SopsMetadata.Read(document.Metadata);
        byte[]? key = null;
        foreach (var source in sources)
        {
            key = await source.TryRecoverAsync([.. metadata.Keys.Where(k => k.Type == source.Type)], cancellationToken);
            if (key is not null)
            {
                break;
            }
        }

        if (key is null)
        {
            var configured = string.Join(" or ", sources.Select(s => s.Type));
            throw new SopsException($"no configured {configured} key opens it; it is encrypted for {string.Join(", ", metadata.Keys.Select(k => $"{k.Type} {k.Id}"))}");
        }

        try
        {
            if (key.Length != 32)
            {
                throw new SopsException("the recovered data key is not 32 bytes");
            }

            new SopsTree(metadata, key).Decrypt(document.Branches);
            return SopsFormats.Write(document);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }
}
