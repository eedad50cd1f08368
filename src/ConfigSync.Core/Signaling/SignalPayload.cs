using System.Text.Json;
using System.Text.Json.Serialization;
using ConfigSync.Configuration;
using ConfigSync.Publishing;

namespace ConfigSync.Signaling;

/// <summary>The JSON body sent to the app after a publish.</summary>
/// <param name="Sync">The sync's name.</param>
/// <param name="Revision">The revision now live.</param>
/// <param name="PreviousRevision">The revision the app was last told about, or null.</param>
/// <param name="Path">The path of the live tree.</param>
/// <param name="Added">Paths new since <paramref name="PreviousRevision"/>.</param>
/// <param name="Changed">Paths whose content or mode changed.</param>
/// <param name="Removed">Paths gone.</param>
public sealed record SignalPayload(
    string Sync,
    string Revision,
    string? PreviousRevision,
    string Path,
    IReadOnlyList<string> Added,
    IReadOnlyList<string> Changed,
    IReadOnlyList<string> Removed)
{
    /// <summary>The payload describing the move from <paramref name="previous"/> (what the app last got) to <paramref name="current"/>.</summary>
    public static SignalPayload Between(Manifest? previous, Manifest current, string livePath)
    {
        var before = previous?.Files.ToDictionary(f => f.Path, StringComparer.Ordinal) ?? [];
        var added = new List<string>();
        var changed = new List<string>();
        foreach (var file in current.Files)
        {
            if (!before.Remove(file.Path, out var old))
            {
                added.Add(file.Path);
            }
            else if (!old.SameContent(file))
            {
                changed.Add(file.Path);
            }
        }

        return new SignalPayload(current.Sync, current.Revision, previous?.Revision, livePath, added, changed, [.. before.Keys.Order(StringComparer.Ordinal)]);
    }

    /// <summary>Replaces <c>{revision}</c> and <c>{sync}</c> in a configured header or environment value (<see cref="RevisionTemplate.Expand"/>).</summary>
    public string Expand(string template) => RevisionTemplate.Expand(template, Revision, Sync);

    /// <summary>Serialises the payload.</summary>
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, SignalJsonContext.Default.SignalPayload);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(SignalPayload))]
internal sealed partial class SignalJsonContext : JsonSerializerContext;
