using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ConfigSync.Diagnostics;
using LibGit2Sharp;

namespace ConfigSync.Sources.Git;

/// <summary>
/// Refuses a commit (or annotated tag) unless it carries a signature by a trusted key: SSH
/// signatures (<c>gpg.format=ssh</c>) are checked by <c>ssh-keygen -Y verify</c> against an
/// allowed-signers file, OpenPGP signatures by <c>gpgv</c> against the given public keys only (no
/// user keyring, no trust database: every key in the file is trusted, no other key is). The signed
/// bytes are the object's own: for a commit as libgit2 extracts them, for a tag rebuilt from its
/// fields and checked against the tag's object id, so nothing unsigned can slip in.
/// </summary>
internal sealed class SignatureVerifier(GitVerifyOptions options, string cacheDirectory)
{
    private const string SshArmor = "-----BEGIN SSH SIGNATURE-----";
    private const string PgpArmor = "-----BEGIN PGP SIGNATURE-----";
    private readonly string _folder = Path.Combine(cacheDirectory, "verify");

    /// <summary>Throws <see cref="RevisionRejectedException"/> unless the object that <paramref name="refName"/> names is signed by a trusted key; returns who signed.</summary>
    public string Verify(Repository repo, Commit commit, string refName, string? tagId)
    {
        string what;
        string? signature;
        string? signedData;
        DateTimeOffset when;
        if (options.Mode == GitVerifyMode.Tag)
        {
            var tag = (tagId is null ? null : repo.Lookup<TagAnnotation>(tagId))
                ?? throw Reject(commit, $"{refName} is not an annotated tag; verify.mode: tag publishes only signed annotated tags");
            what = $"tag {tag.Name}";
            (signedData, signature) = SplitTag(tag);
            when = tag.Tagger?.When ?? commit.Committer.When;
        }
        else
        {
            what = $"commit {commit.Sha[..12]} ({refName})";
            // From the raw object, not Commit.ExtractSignature: its git_buf out-parameters come back empty under NativeAOT.
            using (var reader = new BlobReader(repo.Info.Path))
            {
                (signature, signedData) = CommitSignature.Split(reader.ReadObject(commit.Sha));
            }

            when = commit.Committer.When;
        }

        if (signature is null || signedData is null)
        {
            throw Reject(commit, $"{what} is not signed; source.verify publishes only objects signed by a key in {Trusted()}");
        }

        Directory.CreateDirectory(_folder);
        var signer = string.Empty;
        var problem = signature.TrimStart().StartsWith(SshArmor, StringComparison.Ordinal) ? VerifySsh(signature, signedData, when, out signer)
            : signature.TrimStart().StartsWith(PgpArmor, StringComparison.Ordinal) ? VerifyPgp(signature, signedData, out signer)
            : "its signature is neither an SSH nor an OpenPGP signature";
        if (problem is not null)
        {
            throw Reject(commit, $"{what}: {problem}");
        }

        return $"{what} signed by {signer}";
    }

    private string Trusted() => (options.AllowedSignersFile, options.GpgKeysFile) switch
    {
        (not null, not null) => "verify.allowedSignersFile or verify.gpgKeysFile",
        (not null, null) => "verify.allowedSignersFile",
        _ => "verify.gpgKeysFile",
    };

    private static RevisionRejectedException Reject(Commit commit, string reason) => new(commit.Sha, "signature", reason);

    private string? VerifySsh(string signature, string signedData, DateTimeOffset when, out string signer)
    {
        signer = string.Empty;
        if (options.AllowedSignersFile is not { } allowed)
        {
            return "it carries an SSH signature but verify.allowedSignersFile is not set";
        }

        if (!File.Exists(allowed))
        {
            return $"verify.allowedSignersFile '{allowed}' does not exist";
        }

        var signatureFile = Path.Combine(_folder, "signature.sig");
        File.WriteAllText(signatureFile, signature);
        var data = Encoding.UTF8.GetBytes(signedData);
        var time = "-Overify-time=" + when.ToUniversalTime().ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + "Z";
        var found = Run(["ssh-keygen", "-Y", "find-principals", "-f", allowed, "-s", signatureFile, time], null);
        var principals = found.ExitCode == 0 ? found.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [];
        foreach (var principal in principals)
        {
            var verified = Run(["ssh-keygen", "-Y", "verify", "-f", allowed, "-I", principal, "-n", "git", "-s", signatureFile, time], data);
            if (verified.ExitCode == 0)
            {
                signer = $"SSH key of {principal}";
                return null;
            }
        }

        if (principals.Length > 0)
        {
            return $"the SSH signature does not verify for {string.Join(", ", principals)} in verify.allowedSignersFile (altered after signing, or outside the key's validity)";
        }

        // Name the key that signed, so the operator can tell a missing key from a forged signature.
        var check = Run(["ssh-keygen", "-Y", "check-novalidate", "-n", "git", "-s", signatureFile], data);
        var key = check.Output.Split(' ').FirstOrDefault(w => w.StartsWith("SHA256:", StringComparison.Ordinal))?.Trim();
        return check.ExitCode == 0
            ? $"signed by SSH key {key ?? "(unknown)"}, which is not in verify.allowedSignersFile"
            : "the SSH signature is invalid (altered after signing)";
    }

    private string? VerifyPgp(string signature, string signedData, out string signer)
    {
        signer = string.Empty;
        if (options.GpgKeysFile is not { } keys)
        {
            return "it carries an OpenPGP signature but verify.gpgKeysFile is not set";
        }

        byte[] keyring;
        try
        {
            keyring = Dearmor(File.ReadAllBytes(keys));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"verify.gpgKeysFile '{keys}' cannot be read: {e.Message}";
        }
        catch (FormatException)
        {
            return $"verify.gpgKeysFile '{keys}' is neither binary OpenPGP keys nor an ASCII-armored key block";
        }

        var home = Path.Combine(_folder, "gnupg");
        Directory.CreateDirectory(home);
        File.SetUnixFileMode(home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var keyringFile = Path.Combine(_folder, "trusted.gpg");
        var signatureFile = Path.Combine(_folder, "signature.asc");
        var dataFile = Path.Combine(_folder, "signed-data");
        File.WriteAllBytes(keyringFile, keyring);
        File.WriteAllText(signatureFile, signature);
        File.WriteAllText(dataFile, signedData);
        var result = Run(["gpgv", "--homedir", home, "--keyring", keyringFile, "--status-fd", "1", signatureFile, dataFile], null);
        var status = result.Output.Split('\n', StringSplitOptions.TrimEntries)
            .Where(l => l.StartsWith("[GNUPG:] ", StringComparison.Ordinal))
            .Select(l => l["[GNUPG:] ".Length..].Split(' '))
            .ToList();
        string? Field(string keyword, int index) => status.FirstOrDefault(s => s[0] == keyword && s.Length > index)?[index];

        if (Field("NO_PUBKEY", 1) is { } missing)
        {
            return $"signed by OpenPGP key {missing}, which is not in verify.gpgKeysFile";
        }

        if (Field("BADSIG", 1) is not null)
        {
            return "the OpenPGP signature is bad (altered after signing)";
        }

        if (Field("EXPKEYSIG", 1) is { } expired)
        {
            return $"signed by OpenPGP key {expired}, which has expired";
        }

        if (Field("REVKEYSIG", 1) is { } revoked)
        {
            return $"signed by OpenPGP key {revoked}, which is revoked";
        }

        if (Field("EXPSIG", 1) is not null)
        {
            return "the OpenPGP signature has expired";
        }

        signer = $"OpenPGP key {Field("VALIDSIG", 10) ?? Field("VALIDSIG", 1)}";
        return result.ExitCode == 0 && Field("VALIDSIG", 1) is not null
            ? null
            : $"the OpenPGP signature does not verify (gpgv exited with {result.ExitCode}: {result.Tail(200)})";
    }

    private static ProcessResult Run(string[] command, byte[]? input)
    {
        try
        {
            return ChildProcess.RunAsync(command, input: input).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new SourceException($"source.verify needs the '{command[0]}' program, which could not be run: {e.Message}");
        }
    }

    /// <summary>The signed part and the signature of an annotated tag, rebuilt from its fields and checked against its id.</summary>
    internal static (string? SignedData, string? Signature) SplitTag(TagAnnotation tag)
    {
        var raw = new StringBuilder();
        raw.Append(CultureInfo.InvariantCulture, $"object {tag.Target.Sha}\ntype {TypeName(tag.Target)}\ntag {tag.Name}\n");
        if (tag.Tagger is { } tagger)
        {
            var offset = tagger.When.Offset;
            var sign = offset < TimeSpan.Zero ? '-' : '+';
            offset = offset.Duration();
            raw.Append(CultureInfo.InvariantCulture, $"tagger {tagger.Name} <{tagger.Email}> {tagger.When.ToUnixTimeSeconds()} {sign}{offset.Hours:00}{offset.Minutes:00}\n");
        }

        raw.Append('\n').Append(tag.Message);
        var text = raw.ToString();
        var bytes = Encoding.UTF8.GetBytes(text);
        var header = Encoding.ASCII.GetBytes($"tag {bytes.Length}\0");
#pragma warning disable CA5350 // git object ids are SHA-1: this checks the rebuilt bytes are exactly the tag's.
        var id = Convert.ToHexStringLower(SHA1.HashData([.. header, .. bytes]));
#pragma warning restore CA5350
        if (id != tag.Sha)
        {
            return (null, null);
        }

        var start = Math.Max(text.LastIndexOf("\n" + PgpArmor, StringComparison.Ordinal), text.LastIndexOf("\n" + SshArmor, StringComparison.Ordinal));
        return start < 0 ? (text, null) : (text[..(start + 1)], text[(start + 1)..]);
    }

    private static string TypeName(GitObject target) => target switch
    {
        Commit => "commit",
        Tree => "tree",
        Blob => "blob",
        _ => "tag",
    };

    /// <summary>Binary OpenPGP keys as they are, or ASCII-armored key blocks decoded (gpgv reads only binary keyrings).</summary>
    internal static byte[] Dearmor(byte[] content)
    {
        var text = Encoding.ASCII.GetString(content);
        if (!text.Contains("-----BEGIN PGP PUBLIC KEY BLOCK-----", StringComparison.Ordinal))
        {
            return content.Length > 0 && (content[0] & 0x80) != 0 ? content : throw new FormatException("not OpenPGP data");
        }

        using var output = new MemoryStream();
        var lines = text.ReplaceLineEndings("\n").Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Trim() != "-----BEGIN PGP PUBLIC KEY BLOCK-----")
            {
                continue;
            }

            // Armor headers (Version:, Comment:) end at the first empty line.
            while (++i < lines.Length && lines[i].Trim().Length > 0 && lines[i].Contains(':', StringComparison.Ordinal))
            {
            }

            var base64 = new StringBuilder();
            for (; i < lines.Length && !lines[i].StartsWith("-----END", StringComparison.Ordinal) && !lines[i].StartsWith('='); i++)
            {
                base64.Append(lines[i].Trim());
            }

            output.Write(Convert.FromBase64String(base64.ToString()));
        }

        return output.ToArray();
    }
}
