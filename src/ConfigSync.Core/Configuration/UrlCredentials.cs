using ConfigSync.Diagnostics;

namespace ConfigSync.Configuration;

/// <summary>
/// Credentials written into a URL setting (<c>https://user:password@host/...</c>). As the setting is
/// read, the password (or the token, for <c>https://token@host</c>) is registered with
/// <see cref="Redact.Register"/>, so it is never printed however it ends up in a message; and one that
/// holds characters a URL cannot carry raw is refused, naming the setting and not the value: such a
/// password would be read differently by the parser of every tool on the way.
/// </summary>
public static class UrlCredentials
{
    /// <summary>The problem reported for a setting whose credentials need percent-encoding.</summary>
    public const string NeedsEncoding = "the credentials in the URL hold characters that must be percent-encoded (whitespace, '@', '/', '?', '#', '\"', '<', '>', '`'; an '@' after the host too, as %40)";

    /// <summary>
    /// Registers the credentials in <paramref name="url"/> and checks them; records the problem on
    /// <paramref name="key"/> of <paramref name="reader"/> and returns false when they need percent-encoding.
    /// </summary>
    /// <param name="reader">The section holding the setting.</param>
    /// <param name="key">The setting, for example <c>url</c>.</param>
    /// <param name="url">Its value; a value without <c>://</c> carries no user-info and passes.</param>
    /// <param name="hint">What to do instead, appended to the problem (for example "better, put the password in auth.passwordFile").</param>
    public static bool Check(SettingsReader reader, string key, string url, string? hint = null)
    {
        if (Find(url) is not { } userInfo)
        {
            return true;
        }

        var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            Redact.Register(userInfo[(colon + 1)..]);
        }
        else if (url.StartsWith("http", StringComparison.OrdinalIgnoreCase))
        {
            // https://TOKEN@host: the user name is the secret. (ssh://git@host names a user only.)
            Redact.Register(userInfo);
        }

        if (!userInfo.Any(c => c is '@' or '/' or '?' or '#' || Redact.EndsUrl(c)))
        {
            return true;
        }

        reader.Error(key, hint is null ? NeedsEncoding : $"{NeedsEncoding}; {hint}");
        return false;
    }

    /// <summary>
    /// The user-info of a URL setting (the whole value is the URL), or null: everything between
    /// <c>://</c> and the last <c>@</c>. That is stricter than a URL parser, which would end it at the
    /// first <c>/</c>, <c>?</c> or <c>#</c>: a password holding one of them is found (and refused)
    /// however the rest would be read; an <c>@</c> in the path or query must then be written <c>%40</c>.
    /// </summary>
    private static string? Find(string url)
    {
        var separator = url.IndexOf("://", StringComparison.Ordinal);
        var at = url.LastIndexOf('@');
        return separator >= 0 && at > separator + 3 ? url[(separator + 3)..at] : null;
    }
}
