using System.Text;

namespace ConfigSync.Sources.Git;

/// <summary>
/// Splits a signed commit into its signature and the bytes it signs, from the raw commit object, as
/// git does (<c>parse_signed_commit</c>): the <c>gpgsig</c> header and its continuation lines are the
/// signature, everything else is the signed payload. Replaces <c>Commit.ExtractSignature</c>, whose
/// libgit2 <c>git_buf</c> out-parameters come back empty in the NativeAOT executable.
/// </summary>
internal static class CommitSignature
{
    private const string Header = "gpgsig";

    /// <summary>The signature and the signed data, or nulls when the commit carries no <c>gpgsig</c> header.</summary>
    public static (string? Signature, string? SignedData) Split(ReadOnlySpan<byte> raw)
    {
        var signature = new StringBuilder();
        var signed = new MemoryStream(raw.Length);
        var inSignature = false;
        var found = false;
        var position = 0;
        while (position < raw.Length)
        {
            var end = raw[position..].IndexOf((byte)'\n');
            var lineEnd = end < 0 ? raw.Length : position + end + 1;
            var line = raw[position..lineEnd];
            if (line.Length == 1 && line[0] == (byte)'\n')
            {
                // The end of the headers: the message follows, signed as it is.
                signed.Write(raw[position..]);
                break;
            }

            if (inSignature && line.Length > 0 && line[0] == (byte)' ')
            {
                signature.Append(Encoding.UTF8.GetString(line[1..]));
            }
            else if (!found && line.StartsWith(Encoding.ASCII.GetBytes(Header + " ")))
            {
                inSignature = true;
                found = true;
                signature.Append(Encoding.UTF8.GetString(line[(Header.Length + 1)..]));
            }
            else
            {
                inSignature = false;
                signed.Write(line);
            }

            position = lineEnd;
        }

        return found ? (signature.ToString(), Encoding.UTF8.GetString(signed.ToArray())) : (null, null);
    }
}
