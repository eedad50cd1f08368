using System.Diagnostics.CodeAnalysis;

namespace ConfigSync.Configuration;

/// <summary>
/// The placeholders of configured values: <c>{revision}</c> and <c>{sync}</c> in a signal header or exec environment
/// value (git-sync's <c>Gitsync-Hash: {revision}</c>), and <c>{revision}</c> in <c>signal.verify.url</c>. A URL keeps
/// its placeholder percent-encoded (<c>%7Brevision%7D</c>) from reading to expansion, as <see cref="Uri"/> holds it,
/// so it may stand only where a URL can carry it: the path, the query or the fragment, not the host.
/// </summary>
public static class RevisionTemplate
{
    /// <summary>The placeholder replaced by the revision.</summary>
    public const string Revision = "{revision}";

    /// <summary>The placeholder replaced by the sync's name.</summary>
    public const string Sync = "{sync}";

    /// <summary>The problem <see cref="TryParseUrl"/> reports for a value that is no absolute http(s) URL.</summary>
    public const string NotHttpUrl = "is not an absolute http:// or https:// URL";

    /// <summary>The problem <see cref="TryParseUrl"/> reports for a placeholder before the path.</summary>
    public const string NotInPath = "has {revision} in its host or user name; it may stand only in the path, the query or the fragment";

    // As Uri escapes the placeholder; the only form of it a parsed URL holds.
    private const string EscapedRevision = "%7Brevision%7D";

    /// <summary>Replaces every <c>{revision}</c> and <c>{sync}</c> in a header or environment value.</summary>
    public static string Expand(string template, string revision, string sync) =>
        template.Replace(Revision, revision, StringComparison.Ordinal).Replace(Sync, sync, StringComparison.Ordinal);

    /// <summary>
    /// Reads a URL template: an absolute http:// or https:// URL, <c>{revision}</c> only in its path, query or
    /// fragment. Returns false and the problem (<see cref="NotHttpUrl"/> or <see cref="NotInPath"/>) otherwise.
    /// </summary>
    public static bool TryParseUrl(string text, [NotNullWhen(true)] out Uri? url, out string problem)
    {
        url = null;
        problem = NotHttpUrl;
        if (!Uri.TryCreate(text.Replace(Revision, "r", StringComparison.Ordinal), UriKind.Absolute, out var plain) || plain.Scheme is not ("http" or "https"))
        {
            return false;
        }

        problem = NotInPath;
        if (!Uri.TryCreate(text.Replace(Revision, EscapedRevision, StringComparison.Ordinal), UriKind.Absolute, out var parsed)
            || parsed.GetLeftPart(UriPartial.Authority).Contains(EscapedRevision, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        url = parsed;
        problem = string.Empty;
        return true;
    }

    /// <summary>The URL <see cref="TryParseUrl"/> read, with the revision, escaped, in place of each <c>{revision}</c>.</summary>
    public static Uri ExpandUrl(Uri template, string revision) =>
        new(template.OriginalString.Replace(EscapedRevision, Uri.EscapeDataString(revision), StringComparison.Ordinal));
}
