using System.Text.RegularExpressions;

namespace ConfigSync.Diagnostics;

/// <summary>Removes credentials from text that goes to logs, errors, metrics or <c>/status</c>.</summary>
public static partial class Redact
{
    [GeneratedRegex(@"(?<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?<userinfo>[^/@\s]+)@", RegexOptions.CultureInvariant)]
    private static partial Regex UserInfo();

    [GeneratedRegex(@"(?<key>[?&](?:sig|signature|token|access_token|X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|password)=)[^&\s""']+", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex SecretQuery();

    /// <summary>Replaces the user-info part of every URL in <paramref name="text"/> (user:password@ → ***@)
    /// and the values of signature or token query parameters.</summary>
    public static string Url(string text)
    {
        var noUser = UserInfo().Replace(text, m => m.Groups["scheme"].Value + "***@");
        return SecretQuery().Replace(noUser, m => m.Groups["key"].Value + "***");
    }
}
