using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace ConfigSync.Http;

/// <summary>
/// Who may trigger a sync: callers on loopback, or anyone presenting the bearer token from
/// <c>http.triggerTokenFile</c> (re-read at each request, so a rotated Secret works). Compared in constant time.
/// </summary>
internal sealed class TriggerAuthorization(string? tokenFile)
{
    public int Check(IPAddress? remote, string? authorization)
    {
        var presented = authorization is not null && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? authorization["Bearer ".Length..].Trim()
            : null;
        var token = ReadToken();
        if (presented is not null && token is not null)
        {
            return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(token))
                ? StatusCodes.Status202Accepted
                : StatusCodes.Status401Unauthorized;
        }

        if (remote is not null && (IPAddress.IsLoopback(remote) || (remote.IsIPv4MappedToIPv6 && IPAddress.IsLoopback(remote.MapToIPv4()))))
        {
            return StatusCodes.Status202Accepted;
        }

        return token is null ? StatusCodes.Status403Forbidden : StatusCodes.Status401Unauthorized;
    }

    private string? ReadToken()
    {
        if (tokenFile is null)
        {
            return null;
        }

        try
        {
            var token = File.ReadAllText(tokenFile).Trim();
            Diagnostics.Redact.Register(token);
            return token.Length == 0 ? null : token;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
