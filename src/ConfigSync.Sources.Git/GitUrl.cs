using System.Text.RegularExpressions;

namespace ConfigSync.Sources.Git;

/// <summary>How a repository is reached.</summary>
internal enum GitTransport
{
    Http,
    Ssh,
    Git,
    Local,
}

/// <summary>Recognises the URL forms git accepts.</summary>
internal static partial class GitUrl
{
    [GeneratedRegex(@"^(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9.-]+:(?!//)\S+\z", RegexOptions.CultureInvariant)]
    private static partial Regex ScpLike();

    public static GitTransport? Classify(string url)
    {
        if (url.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            return GitTransport.Http;
        }

        if (url.StartsWith("ssh://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("git+ssh://", StringComparison.OrdinalIgnoreCase))
        {
            return GitTransport.Ssh;
        }

        if (url.StartsWith("git://", StringComparison.OrdinalIgnoreCase))
        {
            return GitTransport.Git;
        }

        if (url.StartsWith("file://", StringComparison.OrdinalIgnoreCase) || url.StartsWith('/'))
        {
            return GitTransport.Local;
        }

        return ScpLike().IsMatch(url) ? GitTransport.Ssh : null;
    }

    /// <summary>
    /// A URL with a scheme, split as libgit2 reads it: the scheme, the authority (everything up to the first '/', a user
    /// and a port included) and the path from that '/'; null for scp-like addresses and local paths.
    /// </summary>
    public static (string Scheme, string Authority, string Path)? Split(string url)
    {
        var separator = url.IndexOf("://", StringComparison.Ordinal);
        if (separator <= 0)
        {
            return null;
        }

        var rest = url[(separator + 3)..];
        var slash = rest.IndexOf('/');
        return (url[..separator], slash < 0 ? rest : rest[..slash], slash < 0 ? string.Empty : rest[slash..]);
    }

    /// <summary>An authority without its user and password: the host and port.</summary>
    public static string HostAndPort(string authority) => authority[(authority.LastIndexOf('@') + 1)..];
}
