using System.Text.Json.Serialization;
using ConfigSync.Publishing;
using ConfigSync.Sync;

namespace ConfigSync.Http;

/// <summary>The body of <c>GET /status</c>.</summary>
internal sealed record StatusDocument(bool Ready, IReadOnlyDictionary<string, SyncStatus> Syncs);

/// <summary>The body of <c>GET /status/{name}</c>: the status and the live manifest.</summary>
internal sealed record SyncDocument(SyncStatus Status, Manifest? Manifest);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(StatusDocument))]
[JsonSerializable(typeof(SyncDocument))]
internal sealed partial class StatusJsonContext : JsonSerializerContext;
