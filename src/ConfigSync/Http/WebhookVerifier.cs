using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ConfigSync.Configuration;
using Microsoft.Extensions.Primitives;

namespace ConfigSync.Http;

/// <summary>What a webhook delivery turned out to be.</summary>
internal enum WebhookVerdict
{
    /// <summary>Authentic and about the tracked ref (or about no ref in particular): sync now.</summary>
    Accepted,

    /// <summary>Authentic, but not a push of the tracked ref (ping, other event, other branch).</summary>
    Ignored,

    /// <summary>Missing or wrong signature or token.</summary>
    Unauthorized,

    /// <summary>Authentic, but the body is not the JSON its sender documents.</summary>
    Invalid,
}

/// <summary>The outcome of one delivery, with the reason shown to the sender.</summary>
internal sealed record WebhookOutcome(WebhookVerdict Verdict, string Sender, string? Reason = null, string? Ref = null);

/// <summary>
/// Authenticates push deliveries and picks out the pushed ref: GitHub (<c>X-Hub-Signature-256</c>,
/// HMAC-SHA256 of the body), GitLab (<c>X-Gitlab-Token</c>, the secret itself) and any sender that
/// signs the body with HMAC-SHA256 in a configurable header. Secrets are compared in constant time.
/// </summary>
internal static class WebhookVerifier
{
    public const string GitHubSignature = "X-Hub-Signature-256";
    public const string GitLabToken = "X-Gitlab-Token";

    /// <summary>Checks one delivery. <paramref name="matchesRef"/> says whether a pushed ref (and the repository's default branch, when the sender tells it) is what the sync tracks.</summary>
    public static WebhookOutcome Check(WebhookSettings settings, byte[] secret, IHeaderDictionary headers, string? contentType, byte[] body, Func<string, string?, bool> matchesRef)
    {
        string sender;
        bool authentic;
        if (headers.TryGetValue(GitHubSignature, out var github))
        {
            sender = "github";
            authentic = HmacMatches(secret, body, github, requirePrefix: true);
        }
        else if (headers.TryGetValue(GitLabToken, out var gitlab))
        {
            sender = "gitlab";
            authentic = SameSecret(secret, gitlab.ToString());
        }
        else if (headers.TryGetValue(settings.SignatureHeader, out var generic))
        {
            sender = "hmac";
            authentic = HmacMatches(secret, body, generic, requirePrefix: false);
        }
        else
        {
            return new WebhookOutcome(WebhookVerdict.Unauthorized, "unknown", $"no signature: send {GitHubSignature} (GitHub), {GitLabToken} (GitLab) or {settings.SignatureHeader} (sha256=<hex HMAC-SHA256 of the body>)");
        }

        if (!authentic)
        {
            return new WebhookOutcome(WebhookVerdict.Unauthorized, sender, sender == "gitlab" ? "the token does not match webhook.secretFile" : "the signature does not match the body and webhook.secretFile");
        }

        var @event = sender switch
        {
            "github" => headers["X-GitHub-Event"].ToString(),
            "gitlab" => headers["X-Gitlab-Event"].ToString(),
            _ => string.Empty,
        };
        if (sender == "github" && @event != "push")
        {
            return new WebhookOutcome(WebhookVerdict.Ignored, sender, @event == "ping" ? "ping" : $"event '{@event}' is not a push");
        }

        if (sender == "gitlab" && @event is not ("Push Hook" or "Tag Push Hook"))
        {
            return new WebhookOutcome(WebhookVerdict.Ignored, sender, $"event '{@event}' is not a push");
        }

        JsonElement payload;
        try
        {
            payload = Parse(contentType, body);
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            return sender == "hmac"
                ? new WebhookOutcome(WebhookVerdict.Accepted, sender)
                : new WebhookOutcome(WebhookVerdict.Invalid, sender, $"the body is not a {sender} push event: {e.Message}");
        }

        var pushed = payload.ValueKind == JsonValueKind.Object && payload.TryGetProperty("ref", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
        if (pushed is null)
        {
            return sender == "hmac"
                ? new WebhookOutcome(WebhookVerdict.Accepted, sender)
                : new WebhookOutcome(WebhookVerdict.Invalid, sender, $"the {sender} push event has no 'ref'");
        }

        var defaultBranch = DefaultBranch(payload, "repository") ?? DefaultBranch(payload, "project");
        return matchesRef(pushed, defaultBranch)
            ? new WebhookOutcome(WebhookVerdict.Accepted, sender, Ref: pushed)
            : new WebhookOutcome(WebhookVerdict.Ignored, sender, $"{pushed} is not the ref this sync tracks", pushed);
    }

    private static bool HmacMatches(byte[] secret, byte[] body, StringValues header, bool requirePrefix)
    {
        var value = header.ToString().Trim();
        if (value.StartsWith("sha256=", StringComparison.OrdinalIgnoreCase))
        {
            value = value["sha256=".Length..];
        }
        else if (requirePrefix)
        {
            return false;
        }

        byte[] presented;
        try
        {
            presented = Convert.FromHexString(value);
        }
        catch (FormatException)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(secret, body), presented);
    }

    // Hashing both sides first makes the comparison constant-time whatever the lengths.
    private static bool SameSecret(byte[] secret, string presented) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(secret), SHA256.HashData(Encoding.UTF8.GetBytes(presented)));

    private static JsonElement Parse(string? contentType, byte[] body)
    {
        // GitHub can deliver as application/x-www-form-urlencoded with the JSON in the 'payload' field.
        if (contentType is not null && contentType.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            var form = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(Encoding.UTF8.GetString(body));
            if (!form.TryGetValue("payload", out var payload))
            {
                throw new FormatException("the form has no 'payload' field");
            }

            using var formDocument = JsonDocument.Parse(payload.ToString());
            return formDocument.RootElement.Clone();
        }

        using var document = JsonDocument.Parse(body);
        return document.RootElement.Clone();
    }

    private static string? DefaultBranch(JsonElement payload, string owner) =>
        payload.ValueKind == JsonValueKind.Object
        && payload.TryGetProperty(owner, out var o) && o.ValueKind == JsonValueKind.Object
        && o.TryGetProperty("default_branch", out var b) && b.ValueKind == JsonValueKind.String
            ? b.GetString()
            : null;
}
