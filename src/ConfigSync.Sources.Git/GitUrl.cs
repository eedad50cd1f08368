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
}
