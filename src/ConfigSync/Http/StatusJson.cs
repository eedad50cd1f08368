using System.Text.Json.Serialization;
using ConfigSync.Publishing;
using ConfigSync.Sync;

namespace ConfigSync.Http;

/// <summary>The body of <c>GET /status</c>.</summary>
internal sealed record StatusDocument(bool Ready, IReadOnlyDictionary<string, SyncStatus> Syncs);

/// <summary>The body of <c>GET /status/{name}</c>: the status and the live manifest.</summary>
internal sealed record SyncDocument(SyncStatus Status, Manifest? Manifest);

/// <summary>The body of <c>/healthz</c> and <c>/readyz</c>.</summary>
internal sealed record HealthBody(string Status, IReadOnlyDictionary<string, string?> Checks);

/// <summary>The body of an error answer.</summary>
internal sealed record ErrorBody(string Error);

/// <summary>The body of an accepted <c>POST /sync/{name}</c>.</summary>
internal sealed record TriggerBody(string Sync, bool Queued);

/// <summary>The body of an accepted <c>POST /webhook/{name}</c>: queued, or ignored and why.</summary>
internal sealed record WebhookBody(string Sync, bool Queued, string? Ignored);

// Source-generated (no reflection): quicker first answer at start, and no runtime code generation.
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(StatusDocument))]
[JsonSerializable(typeof(SyncDocument))]
[JsonSerializable(typeof(HealthBody))]
[JsonSerializable(typeof(ErrorBody))]
[JsonSerializable(typeof(TriggerBody))]
[JsonSerializable(typeof(WebhookBody))]
internal sealed partial class StatusJsonContext : JsonSerializerContext;
