using ConfigSync.Sources;

namespace ConfigSync.Configuration;

/// <summary>
/// Where <c>configsync publish</c> writes a sync's tree: a bucket or container prefix (read with the settings of the
/// source type of the same name), its index key, and how long removed objects stay for readers of the previous index.
/// </summary>
/// <param name="Type">The store type (<c>s3</c> or <c>azureblob</c>).</param>
/// <param name="Factory">The factory of that type.</param>
/// <param name="Options">Its options (bucket or container, prefix, endpoint, auth).</param>
/// <param name="Index">The index key, relative to the prefix.</param>
/// <param name="GracePeriod">How long after a new index is written the objects it no longer names are deleted.</param>
public sealed record PublishSettings(string Type, ISourceFactory Factory, object Options, string Index, TimeSpan GracePeriod)
{
    /// <summary>The default <see cref="GracePeriod"/>: longer than a reader's poll and download.</summary>
    public static readonly TimeSpan DefaultGracePeriod = TimeSpan.FromMinutes(2);

    /// <summary>The longest <see cref="GracePeriod"/> accepted.</summary>
    public static readonly TimeSpan LongestGracePeriod = TimeSpan.FromDays(1);
}
