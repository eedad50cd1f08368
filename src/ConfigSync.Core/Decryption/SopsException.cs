namespace ConfigSync.Decryption;

/// <summary>
/// A SOPS file that cannot be published: its MAC does not match, no configured key opens it, or it uses something this
/// implementation does not support. The message names the reason, never a value or a key.
/// </summary>
public sealed class SopsException(string message) : Exception(message);
