namespace ConfigSync.Sources;

/// <summary>
/// A place config comes from. The sync loop asks it, at every poll, for the current revision
/// given the one last published; it answers <c>null</c> (unchanged) as cheaply as it can, or a
/// <see cref="SourceSnapshot"/> whose entries the publisher writes. Calls for one sync never
/// overlap, so an implementation need not be thread-safe across polls.
/// </summary>
public interface IConfigSource : IAsyncDisposable
{
    /// <summary>A stable description of what this source reads (for example the folder or the URL with
    /// credentials removed). Published files are reused across revisions only from the same source.</summary>
    string Describe { get; }

    /// <summary>Returns <c>null</c> when the source is still at <see cref="PollContext.LastRevision"/>, else a snapshot.</summary>
    Task<SourceSnapshot?> PollAsync(PollContext context, CancellationToken cancellationToken);

    /// <summary>
    /// Whether a push of <paramref name="pushedRef"/> (a full ref name such as <c>refs/heads/main</c>)
    /// can change what this source publishes; <paramref name="defaultBranch"/> is the repository's
    /// default branch when the sender tells it. Sources without refs accept every push.
    /// </summary>
    bool MatchesPush(string pushedRef, string? defaultBranch) => true;
}

/// <summary>What a poll knows of the past.</summary>
/// <param name="LastRevision">The revision of the live tree, or <c>null</c> before the first publish.</param>
public sealed record PollContext(string? LastRevision);
