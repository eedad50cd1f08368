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
            return (asking, _, _) =>
            {
                RefuseAnotherOrigin(asking);
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
            RefuseAnotherOrigin(asking);
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

    private void RefuseAnotherOrigin(string asking)
    {
        if (!SameOrigin(asking, url))
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
