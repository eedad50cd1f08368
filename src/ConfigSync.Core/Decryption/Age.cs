using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Crypto.Modes;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Math.EC.Rfc7748;

namespace ConfigSync.Decryption;

/// <summary>An age X25519 identity (<c>AGE-SECRET-KEY-1...</c>): the private scalar and its recipient.</summary>
public sealed class AgeIdentity
{
    private const string Hrp = "age-secret-key-";
    private readonly byte[] _scalar;

    private AgeIdentity(byte[] scalar)
    {
        _scalar = scalar;
        var point = new byte[X25519.PointSize];
        X25519.ScalarMultBase(scalar, 0, point, 0);
        PublicKey = point;
        Recipient = Bech32.Encode("age", point);
    }

    /// <summary>The recipient (<c>age1...</c>) that files for this identity are encrypted to.</summary>
    public string Recipient { get; }

    internal byte[] PublicKey { get; }

    /// <summary>
    /// Reads the identities of an age key file, as age-keygen writes it (and a Kubernetes Secret mounts it): one
    /// <c>AGE-SECRET-KEY-1...</c> per line, blank lines and <c># comments</c> allowed. Errors name the line, never its text.
    /// </summary>
    public static IReadOnlyList<AgeIdentity> ParseFile(string text, string source)
    {
        var identities = new List<AgeIdentity>();
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            if (!line.StartsWith("AGE-SECRET-KEY-1", StringComparison.Ordinal))
            {
                throw new SopsException($"{source}, line {i + 1}: not an age X25519 identity (AGE-SECRET-KEY-1...); plugin and SSH identities are not supported");
            }

            try
            {
                var (hrp, data) = Bech32.Decode(line);
                if (hrp != Hrp || data.Length != 32)
                {
                    throw new FormatException("not a 32-byte secret key");
                }

                identities.Add(new AgeIdentity(data));
            }
            catch (FormatException e)
            {
                throw new SopsException($"{source}, line {i + 1}: not a valid age identity ({e.Message})");
            }
        }

        if (identities.Count == 0)
        {
            throw new SopsException($"{source}: holds no age identity (AGE-SECRET-KEY-1... lines)");
        }

        return identities;
    }

    /// <summary>The file key of an X25519 stanza addressed to this identity, or null when it is addressed to another.</summary>
    internal byte[]? Unwrap(byte[] share, byte[] body)
    {
        var shared = new byte[X25519.PointSize];
        if (!X25519.CalculateAgreement(_scalar, 0, share, 0, shared, 0))
        {
            return null; // a low-order share: the all-zero secret age refuses
        }

        var wrapKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, shared, 32, [.. share, .. PublicKey], "age-encryption.org/v1/X25519"u8.ToArray());
        return Age.Open(wrapKey, new byte[12], body, []);
    }
}

/// <summary>
/// Decrypts an age v1 file (age-encryption.org/v1, binary or ASCII-armored) with X25519 identities: the file key from
/// the first X25519 stanza an identity opens (HKDF-SHA256, ChaCha20-Poly1305), the header's HMAC-SHA256 checked, then
/// the STREAM payload (64 KiB ChaCha20-Poly1305 chunks, the last one flagged). BouncyCastle supplies X25519 and
/// ChaCha20-Poly1305 (pure managed code, so the NativeAOT build needs no OpenSSL feature); .NET supplies HKDF and HMAC.
/// </summary>
public static class Age
{
    private const int ChunkSize = 64 * 1024;
    private const int TagSize = 16;

    /// <summary>The plaintext, or a <see cref="SopsException"/> naming why not (never a key or a value).</summary>
    public static byte[] Decrypt(ReadOnlySpan<byte> file, IReadOnlyList<AgeIdentity> identities)
    {
        var bytes = Unarmor(file);
        var text = Encoding.Latin1.GetString(bytes);
        const string Intro = "age-encryption.org/v1\n";
        if (!text.StartsWith(Intro, StringComparison.Ordinal))
        {
            throw new SopsException("not an age v1 file");
        }

        var position = Intro.Length;
        byte[]? fileKey = null;
        var macStart = -1;
        while (true)
        {
            var lineEnd = text.IndexOf('\n', position);
            if (lineEnd < 0)
            {
                throw new SopsException("age header: truncated");
            }

            var line = text[position..lineEnd];
            if (line.StartsWith("--- ", StringComparison.Ordinal))
            {
                macStart = position;
                position = lineEnd + 1;
                if (fileKey is null)
                {
                    throw new SopsException("age: no configured identity matches a recipient of the file");
                }

                var headerKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, fileKey, 32, [], "header"u8.ToArray());
                var expected = HMACSHA256.HashData(headerKey, bytes.AsSpan(0, macStart + 3));
                if (!CryptographicOperations.FixedTimeEquals(expected, RawBase64(line[4..], "header MAC")))
                {
                    throw new SopsException("age header: MAC mismatch (the header was changed)");
                }

                break;
            }

            if (!line.StartsWith("-> ", StringComparison.Ordinal))
            {
                throw new SopsException("age header: malformed stanza");
            }

            var arguments = line[3..].Split(' ');
            // The body: full 64-column lines, ended by a shorter (possibly empty) one.
            var body = new StringBuilder();
            position = lineEnd + 1;
            while (true)
            {
                var end = text.IndexOf('\n', position);
                if (end < 0)
                {
                    throw new SopsException("age header: truncated stanza body");
                }

                var bodyLine = text[position..end];
                body.Append(bodyLine);
                position = end + 1;
                if (bodyLine.Length < 64)
                {
                    break;
                }
            }

            if (fileKey is null && arguments is ["X25519", var share])
            {
                var shareBytes = RawBase64(share, "X25519 share");
                var bodyBytes = RawBase64(body.ToString(), "X25519 body");
                if (shareBytes.Length != 32 || bodyBytes.Length != 32)
                {
                    throw new SopsException("age header: malformed X25519 stanza");
                }

                fileKey = identities.Select(i => i.Unwrap(shareBytes, bodyBytes)).FirstOrDefault(k => k is not null);
            }
        }

        return Payload(fileKey, bytes.AsSpan(position));
    }

    internal static byte[]? Open(byte[] key, byte[] nonce, ReadOnlySpan<byte> sealedBytes, ReadOnlySpan<byte> associated)
    {
        var cipher = new Org.BouncyCastle.Crypto.Modes.ChaCha20Poly1305();
        cipher.Init(false, new AeadParameters(new KeyParameter(key), TagSize * 8, nonce, associated.ToArray()));
        var output = new byte[cipher.GetOutputSize(sealedBytes.Length)];
        try
        {
            var length = cipher.ProcessBytes(sealedBytes.ToArray(), 0, sealedBytes.Length, output, 0);
            length += cipher.DoFinal(output, length);
            return output[..length];
        }
        catch (Org.BouncyCastle.Crypto.InvalidCipherTextException)
        {
            return null;
        }
    }

    private static byte[] Payload(byte[] fileKey, ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 16 + TagSize)
        {
            throw new SopsException("age payload: truncated");
        }

        var key = HKDF.DeriveKey(HashAlgorithmName.SHA256, fileKey, 32, payload[..16].ToArray(), "payload"u8.ToArray());
        var chunks = payload[16..];
        using var plaintext = new MemoryStream();
        var nonce = new byte[12];
        for (ulong counter = 0; ; counter++)
        {
            var size = Math.Min(ChunkSize + TagSize, chunks.Length);
            var last = size == chunks.Length;
            for (var i = 0; i < 8; i++)
            {
                nonce[10 - i] = (byte)(counter >> (8 * i));
            }

            nonce[11] = last ? (byte)1 : (byte)0;
            var chunk = Open(key, nonce, chunks[..size], []) ?? throw new SopsException("age payload: authentication failed (the file was changed)");
            if (chunk.Length == 0 && (counter > 0 || !last))
            {
                throw new SopsException("age payload: an empty chunk");
            }

            plaintext.Write(chunk);
            chunks = chunks[size..];
            if (last)
            {
                return plaintext.ToArray();
            }
        }
    }

    /// <summary>The bytes of an armored file (PEM-like, 64-column base64 between BEGIN and END lines), or the file itself.</summary>
    private static byte[] Unarmor(ReadOnlySpan<byte> file)
    {
        var text = Encoding.ASCII.GetString(file).Trim();
        const string Begin = "-----BEGIN AGE ENCRYPTED FILE-----", End = "-----END AGE ENCRYPTED FILE-----";
        if (!text.StartsWith(Begin, StringComparison.Ordinal))
        {
            return file.ToArray();
        }

        if (text.Length < Begin.Length + End.Length || !text.EndsWith(End, StringComparison.Ordinal))
        {
            throw new SopsException("age armor: no END line");
        }

        try
        {
            return Convert.FromBase64String(string.Concat(text[Begin.Length..^End.Length].Split('\n').Select(l => l.Trim())));
        }
        catch (FormatException)
        {
            throw new SopsException("age armor: not base64");
        }
    }

    private static byte[] RawBase64(string text, string what)
    {
        if (text.Contains('=', StringComparison.Ordinal) || text.Length % 4 == 1)
        {
            throw new SopsException($"age header: {what} is not unpadded base64");
        }

        try
        {
            return Convert.FromBase64String(text + new string('=', (4 - (text.Length % 4)) % 4));
        }
        catch (FormatException)
        {
            throw new SopsException($"age header: {what} is not base64");
        }
    }
}
