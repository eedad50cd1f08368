using ConfigSync.Publishing;

namespace ConfigSync.Signaling;

/// <summary>How reload verification of one published tree ended.</summary>
/// <param name="Manifest">The tree the app was asked to apply.</param>
/// <param name="Problem">Null when the app reported the revision; else why verification failed (no secret).</param>
internal sealed record ReloadOutcome(Manifest Manifest, string? Problem);
