namespace ConfigSync.Configuration;

/// <summary>Push webhook of one sync (<c>syncs[].webhook</c>): <c>POST /webhook/{name}</c> from GitHub, GitLab or any HMAC sender.</summary>
public sealed record WebhookSettings
{
    /// <summary>Every default, for readers that start from them; <see cref="SecretFile"/> has none and holds a placeholder.</summary>
    internal static readonly WebhookSettings Defaults = new() { SecretFile = string.Empty };

    /// <summary>The file holding the shared secret (GitHub secret, GitLab token, HMAC key); re-read at each request.</summary>
    public required string SecretFile { get; init; }

    /// <summary>The header of a generic HMAC-SHA256 sender, whose value is <c>sha256=&lt;hex&gt;</c> or the bare hex digest.
    /// <value>The default value is <c>X-Signature-256</c>.</value></summary>
    public string SignatureHeader { get; init; } = "X-Signature-256";

    /// <summary>Largest body accepted; a larger one is refused with 413 before any of it is parsed. <value>The default value is 1 MiB.</value></summary>
    public long MaxBodySize { get; init; } = 1L << 20;
}
