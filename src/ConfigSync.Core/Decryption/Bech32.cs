namespace ConfigSync.Decryption;

/// <summary>Bech32 (BIP 173) decoding, as age encodes its X25519 identities and recipients.</summary>
internal static class Bech32
{
    private const string Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    private static readonly uint[] Generator = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

    /// <summary>Decodes <paramref name="text"/> (all lower or all upper case); returns its human-readable part and data bytes.</summary>
    public static (string Hrp, byte[] Data) Decode(string text)
    {
        if (text.Any(char.IsLower) && text.Any(char.IsUpper))
        {
            throw new FormatException("mixed case");
        }

        var lower = text.ToLowerInvariant();
        var separator = lower.LastIndexOf('1');
        if (separator < 1 || separator + 7 > lower.Length)
        {
            throw new FormatException("no separator or checksum");
        }

        var hrp = lower[..separator];
        var values = new byte[lower.Length - separator - 1];
        for (var i = 0; i < values.Length; i++)
        {
            var index = Charset.IndexOf(lower[separator + 1 + i], StringComparison.Ordinal);
            if (index < 0)
            {
                throw new FormatException("a character outside the charset");
            }

            values[i] = (byte)index;
        }

        if (Polymod([.. ExpandHrp(hrp), .. values]) != 1)
        {
            throw new FormatException("checksum mismatch");
        }

        return (hrp, ConvertBits(values.AsSpan(0, values.Length - 6), 5, 8, pad: false));
    }

    /// <summary>Encodes <paramref name="data"/> with the human-readable part <paramref name="hrp"/> (lower case).</summary>
    public static string Encode(string hrp, ReadOnlySpan<byte> data)
    {
        var values = ConvertBits(data, 8, 5, pad: true);
        var polymod = Polymod([.. ExpandHrp(hrp), .. values, 0, 0, 0, 0, 0, 0]) ^ 1;
        var checksum = Enumerable.Range(0, 6).Select(i => (byte)((polymod >> (5 * (5 - i))) & 31));
        return hrp + "1" + new string([.. values.Concat(checksum).Select(v => Charset[v])]);
    }

    private static uint Polymod(ReadOnlySpan<byte> values)
    {
        uint check = 1;
        foreach (var value in values)
        {
            var top = check >> 25;
            check = ((check & 0x1ffffff) << 5) ^ value;
            for (var i = 0; i < 5; i++)
            {
                if (((top >> i) & 1) != 0)
                {
                    check ^= Generator[i];
                }
            }
        }

        return check;
    }

    private static byte[] ExpandHrp(string hrp) => [.. hrp.Select(c => (byte)(c >> 5)), 0, .. hrp.Select(c => (byte)(c & 31))];

    private static byte[] ConvertBits(ReadOnlySpan<byte> data, int from, int to, bool pad)
    {
        var result = new List<byte>();
        int accumulator = 0, bits = 0, max = (1 << to) - 1;
        foreach (var value in data)
        {
            accumulator = (accumulator << from) | value;
            bits += from;
            while (bits >= to)
            {
                bits -= to;
                result.Add((byte)((accumulator >> bits) & max));
            }
        }

        if (pad && bits > 0)
        {
            result.Add((byte)((accumulator << (to - bits)) & max));
        }
        else if (!pad && (bits >= from || ((accumulator << (to - bits)) & max) != 0))
        {
            throw new FormatException("bad padding");
        }

        return [.. result];
    }
}
