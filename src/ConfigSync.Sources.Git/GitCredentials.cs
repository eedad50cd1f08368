using ConfigSync.Diagnostics;
using LibGit2Sharp;
using LibGit2Sharp.Handlers;

namespace ConfigSync.Sources.Git;

/// <summary>
/// Credentials for one git operation, read from their files or environment at each sync (so a
/// rotated Secret works). libgit2 asks again after every refusal; the second request within one
/// operation means the server refused them, so it fails at once with a named error instead of
/// retrying for many seconds. They belong to the origin (scheme, host, port) of the source's
/// <paramref name="url"/> and are given to no other: a submodule URL or a redirect that a
/// repository's content names on another host is refused by name, never sent the password or token.
/// </summary>
internal sealed class GitCredentials(GitAuthOptions auth, string url, string? appToken = null)
{
    public CredentialsHandler? Handler()
    {
        if (appToken is not null)
        {
            var tries = 0;
            return (asking, usernameFromUrl, _) =>
            {
                RefuseAnotherOrigin(asking, usernameFromUrl);
                return Interlocked.Increment(ref tries) > 1
                    ? throw new SourceException($"authentication failed for {Redact.Url(asking)}: the server refused the GitHub App installation token (auth.githubApp: is the app installed on this repository, with Contents read?)")
                    : new UsernamePasswordCredentials { Username = "x-access-token", Password = appToken };
            };
        }

        if (!auth.HasPassword && auth.Username is null)
        {
            return null;
        }

        var asked = 0;
        return (asking, usernameFromUrl, _) =>
        {
            RefuseAnotherOrigin(asking, usernameFromUrl);
            if (Interlocked.Increment(ref asked) > 1)
            {
                throw new SourceException($"authentication failed for {Redact.Url(url)}: the server refused the credentials (auth.username, {(auth.PasswordFile is not null ? "auth.passwordFile" : "auth.passwordEnv")})");
            }

            var password = ReadPassword();
            Redact.Register(password);
            return new UsernamePasswordCredentials
            {
                Username = auth.Username ?? usernameFromUrl ?? "git",
                Password = password,
            };
        };
    }

    /// <summary>Whether two URLs share scheme, host and port (what a browser calls an origin); false when either is no absolute URL.</summary>
    internal static bool SameOrigin(string a, string b) =>
        Uri.TryCreate(a, UriKind.Absolute, out var x) && Uri.TryCreate(b, UriKind.Absolute, out var y)
        && string.Equals(x.Scheme, y.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(x.IdnHost, y.IdnHost, StringComparison.OrdinalIgnoreCase)
        && x.Port == y.Port;

    /// <summary>
    /// Whether a URL a repository names (a submodule's) may be given the credentials of the source <paramref name="source"/>:
    /// http(s) on the same scheme, host and port, read from the raw text as libgit2 reads it (the authority runs to the
    /// first '/'), and with no user, no percent-escape and no backslash in its authority. libgit2 decodes a user such as
    /// <c>github.com%2f</c> into the URL it shows the credentials callback (<c>https://github.com/@evil/x</c>), which would
    /// look like the source's own host there: so the decision is made here, before libgit2 sees the URL.
    /// </summary>
    internal static bool MayReceive(string candidate, string source) =>
        GitUrl.Classify(candidate) == GitTransport.Http && GitUrl.Split(candidate) is { } theirs && GitUrl.Split(source) is { } ours
        && !theirs.Authority.Contains('@', StringComparison.Ordinal) && theirs.Authority.IndexOfAny(['%', '\\']) < 0
        && theirs.Authority.All(c => c > ' ' && c < 0x7f)
        && string.Equals(theirs.Scheme, ours.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(theirs.Authority, GitUrl.HostAndPort(ours.Authority), StringComparison.OrdinalIgnoreCase);

    private void RefuseAnotherOrigin(string asking, string? usernameFromUrl)
    {
        // libgit2 shows the callback a URL it rebuilt with the user decoded; a user of the URL's own that is not the
        // source's means the URL is not the source's, whatever host the rebuilt text seems to name.
        var ours = Uri.TryCreate(url, UriKind.Absolute, out var source) && source.UserInfo.Length > 0
            ? Uri.UnescapeDataString(source.UserInfo.Split(':')[0])
            : null;
        if (!SameOrigin(asking, url) || (usernameFromUrl is { Length: > 0 } user && user != ours))
        {
            throw new SourceException($"{Redact.Url(asking)} asks for credentials, and they are for {Redact.Url(url)} only (another scheme, host or port): not sent. A submodule on another host must be readable without them");
        }
    }

    private string ReadPassword()
    {
        if (auth.PasswordFile is { } file)
        {
            return SecretFile.Read(file, "auth.passwordFile");
        }

        if (auth.PasswordEnv is { } name)
        {
            return Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
                ? value.Trim()
                : throw new SourceException($"auth.passwordEnv: the environment variable '{name}' is not set");
        }

        return string.Empty;
    }
}
