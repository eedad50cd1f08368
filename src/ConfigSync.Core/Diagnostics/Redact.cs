using System.Text;

namespace ConfigSync.Diagnostics;

/// <summary>
/// Removes credentials from text that goes to logs, errors, metrics or <c>/status</c>: every secret
/// registered with <see cref="Register"/> (as written, percent-decoded and percent-encoded), the
/// user-info of every URL, and the values of signature and token query parameters. URLs are read by
/// a small hand parser, not matched by a pattern, so a password holding <c>/</c>, <c>@</c> or
/// <c>:</c> is hidden whole.
/// </summary>
public static class Redact
{
    private const string Mask = "***";

    /// <summary>Registered values shorter than this are ignored: they would mask ordinary words.</summary>
    private const int MinSecretLength = 4;

    /// <summary>The most secrets kept; the oldest go first (a rotated secret file registers each new value).</summary>
    private const int MaxSecrets = 512;

    private static readonly string[] SecretParameters =
    [
        "sig", "signature", "token", "access_token", "X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token", "password", "code", "client_secret",
    ];

    private static readonly Lock Gate = new();
    private static readonly List<string> Registered = [];
    private static (string Value, StringComparison Comparison)[] _forms = [];

    /// <summary>
    /// Adds <paramref name="secret"/> to the process-wide list of values <see cref="Text"/> and
    /// <see cref="Url"/> replace wherever they appear. Thread-safe; values shorter than 4 characters
    /// are ignored.
    /// </summary>
    /// <param name="secret">A password, token or key, as configured or as read from its file.</param>
    public static void Register(string? secret)
    {
        if (secret is null || secret.Length < MinSecretLength)
        {
            return;
        }

        lock (Gate)
        {
            if (Registered.Contains(secret))
            {
                return;
            }

            Registered.Add(secret);
            if (Registered.Count > MaxSecrets)
            {
                Registered.RemoveAt(0);
            }

            var forms = new Dictionary<string, StringComparison>(StringComparer.Ordinal);
            foreach (var value in Registered)
            {
                forms.TryAdd(value, StringComparison.Ordinal);
                forms.TryAdd(Uri.UnescapeDataString(value), StringComparison.Ordinal);

                // Percent-encoders differ in the case of their hex digits (%2F, %2f).
                forms.TryAdd(Uri.EscapeDataString(value), StringComparison.OrdinalIgnoreCase);
            }

            // Longest first, so a secret that holds another is replaced whole.
            Volatile.Write(ref _forms, [.. forms.Where(f => f.Key.Length >= MinSecretLength).OrderByDescending(f => f.Key.Length).Select(f => (f.Key, f.Value))]);
        }
    }

    /// <summary>Replaces every registered secret in <paramref name="text"/> (see <see cref="Register"/>) with <c>***</c>.</summary>
    public static string Text(string text)
    {
        foreach (var (value, comparison) in Volatile.Read(ref _forms))
        {
            if (text.Contains(value, comparison))
            {
                text = text.Replace(value, Mask, comparison);
            }
        }

        return text;
    }

    /// <summary>
    /// Replaces, in <paramref name="text"/>, every registered secret (<see cref="Text"/>), the
    /// user-info of every URL (<c>https://user:password@host</c> → <c>https://***@host</c>), and the values
    /// of secret query parameters (<c>sig</c>, <c>signature</c>, <c>token</c>, <c>access_token</c>,
    /// <c>X-Amz-Signature</c>, <c>X-Amz-Credential</c>, <c>X-Amz-Security-Token</c>, <c>password</c>,
    /// <c>code</c>, <c>client_secret</c>; any case).
    /// </summary>
    /// <remarks>
    /// A URL starts after each <c>://</c> and ends at whitespace, <c>"</c>, <c>&lt;</c>, <c>&gt;</c>,
    /// <c>`</c> or the end of the text. Its authority ends at the first <c>/</c>, <c>?</c> or <c>#</c>;
    /// everything before the authority's last <c>@</c> is user-info. When the URL holds an <c>@</c>
    /// after that one, or its authority is not a host with an optional port of digits (<c>user:SL</c>
    /// from <c>user:SL/S3CRET@host</c>), a <c>/</c>, <c>?</c> or <c>#</c> in the password cut the
    /// authority short: the user-info then runs to the URL's last <c>@</c>. More of the URL may be
    /// hidden than the credentials, never less.
    /// </remarks>
    public static string Url(string text) => Queries(UserInfos(Text(text)));

    /// <summary>
    /// Where the user-info of a URL ends: the index of its <c>@</c> in <paramref name="url"/> (the part
    /// after <c>://</c>), or -1 when it has none. See <see cref="Url"/> for the rules.
    /// </summary>
    internal static int UserInfoEnd(ReadOnlySpan<char> url)
    {
        var authorityEnd = url.IndexOfAny('/', '?', '#');
        var authority = authorityEnd < 0 ? url : url[..authorityEnd];
        var at = authority.LastIndexOf('@');
        var last = url.LastIndexOf('@');
        if (last == at || (at < 0 && IsHostAndPort(authority)))
        {
            // The plain reading; an '@' in the path or query of a URL without user-info stays (/@scope/pkg, ?email=a@b).
            return at;
        }

        // User-info with an '@' further on, or an authority that is no host[:port]: a '/', '?' or '#'
        // in the password cut the authority short. The user-info runs to the last '@'.
        return last;
    }

    /// <summary>Whether <paramref name="authority"/> is a host (a name, or an [IPv6] address) with an optional port of digits.</summary>
    private static bool IsHostAndPort(ReadOnlySpan<char> authority)
    {
        var host = authority;
        var close = authority.StartsWith('[') ? authority.IndexOf(']') : -1;
        var colon = authority[(close + 1)..].IndexOf(':');
        if (colon >= 0)
        {
            var port = authority[(close + 1 + colon + 1)..];
            if (port.IsEmpty || port.ContainsAnyExceptInRange('0', '9'))
            {
                return false;
            }

            host = authority[..(close + 1 + colon)];
        }

        if (close > 0)
        {
            return host.Length == close + 1;
        }

        foreach (var c in host)
        {
            if (!(char.IsLetterOrDigit(c) || c is '.' or '-' or '_' or '%' or '~'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether <paramref name="c"/> ends a URL in running text.</summary>
    internal static bool EndsUrl(char c) => char.IsWhiteSpace(c) || c is '"' or '<' or '>' or '`';

    private static string UserInfos(string text)
    {
        StringBuilder? output = null;
        var copied = 0;
        var search = 0;
        int separator;
        while ((separator = text.IndexOf("://", search, StringComparison.Ordinal)) >= 0)
        {
            var start = separator + 3;
            var end = start;
            while (end < text.Length && !EndsUrl(text[end]))
            {
                end++;
            }

            search = start;
            var at = UserInfoEnd(text.AsSpan(start, end - start));
            if (at > 0)
            {
                output ??= new StringBuilder(text.Length);
                output.Append(text, copied, start - copied).Append(Mask);
                copied = search = start + at;
            }
        }

        return output is null ? text : output.Append(text, copied, text.Length - copied).ToString();
    }

    private static string Queries(string text)
    {
        StringBuilder? output = null;
        var copied = 0;
        for (var i = text.IndexOfAny(['?', '&']); i >= 0 && i < text.Length - 1; i = text.IndexOfAny(['?', '&'], i + 1))
        {
            var equals = i + 1;
            while (equals < text.Length && text[equals] is not ('=' or '&' or '?' or '#' or '\'') && !EndsUrl(text[equals]))
            {
                equals++;
            }

            if (equals >= text.Length || text[equals] != '=' || !IsSecretParameter(text.AsSpan(i + 1, equals - i - 1)))
            {
                continue;
            }

            var end = equals + 1;
            while (end < text.Length && text[end] is not ('&' or '#' or '\'') && !EndsUrl(text[end]))
            {
                end++;
            }

            if (end > equals + 1)
            {
                output ??= new StringBuilder(text.Length);
                output.Append(text, copied, equals + 1 - copied).Append(Mask);
                copied = end;
                i = end - 1;
            }
        }

        return output is null ? text : output.Append(text, copied, text.Length - copied).ToString();
    }

    private static bool IsSecretParameter(ReadOnlySpan<char> name)
    {
        foreach (var secret in SecretParameters)
        {
            if (name.Equals(secret, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
