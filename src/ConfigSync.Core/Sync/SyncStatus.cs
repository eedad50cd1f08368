using System.Text.Json.Serialization;

namespace ConfigSync.Sync;

/// <summary>What <c>/status</c> shows of one sync: an immutable snapshot.</summary>
public sealed record SyncStatus
{
    /// <summary>The sync's name.</summary>
    public required string Name { get; init; }

    /// <summary>The source (credentials removed).</summary>
    public required string Source { get; init; }

    /// <summary>The live revision, or null before the first publish.</summary>
    public string? Revision { get; init; }

    /// <summary>When the last attempt started.</summary>
    public DateTimeOffset? LastAttempt { get; init; }

    /// <summary>When the last successful attempt ended.</summary>
    public DateTimeOffset? LastSuccess { get; init; }

    /// <summary>When the live tree was published.</summary>
    public DateTimeOffset? LastChange { get; init; }

    /// <summary>The last error, or null after a success.</summary>
    public string? LastError { get; init; }

    /// <summary>Failed attempts in a row.</summary>
    public int ConsecutiveFailures { get; init; }

    /// <summary>Files in the live tree.</summary>
    public int Files { get; init; }

    /// <summary>Bytes in the live tree.</summary>
    public long Bytes { get; init; }

    /// <summary>The path readers use.</summary>
    public required string Path { get; init; }

    /// <summary>The live tree's manifest file.</summary>
    public string? Manifest { get; init; }

    /// <summary>Source facts of the live revision (for example commit subject, author time).</summary>
    public IReadOnlyDictionary<string, string> Details { get; init; } = new Dictionary<string, string>();

    /// <summary>Whether the sync has a live tree that is not stale.</summary>
    public bool Ready { get; init; }

    /// <summary>When the next poll is due.</summary>
    public DateTimeOffset? NextAttempt { get; init; }

    /// <summary>The origin's last throttling of a failed attempt (HTTP 429 or 503), until an attempt succeeds.</summary>
    public ThrottleState? Throttled { get; init; }

    /// <summary>Whether a sync attempt is running now.</summary>
    public bool Syncing { get; init; }

    /// <summary>The newest revision a check refused (cleared when a later revision publishes), or null.</summary>
    public RejectedRevision? Rejected { get; init; }

    /// <summary>Whether the app applied the live revision, when <c>signal.verify</c> is set; else null.</summary>
    public ReloadState? Reload { get; init; }

    /// <summary>What the last publish changed against the tree before it, or null before the first publish of this process.</summary>
    public TreeChange? LastChanges { get; init; }

    /// <summary>Files and bytes written so far while a new tree is being written; else null.</summary>
    public TransferState? Transfer { get; init; }
}

/// <summary>The origin throttled a failed attempt.</summary>
/// <param name="At">When the attempt ended.</param>
/// <param name="Answers">Answers 429 or 503 it got (the SDKs' own retries included).</param>
/// <param name="RetryAfterSeconds">The longest <c>Retry-After</c> among them, or null.</param>
/// <param name="Until">When the next attempt is due: at least that long after <paramref name="At"/>.</param>
public sealed record ThrottleState(DateTimeOffset At, int Answers, double? RetryAfterSeconds, DateTimeOffset Until);

/// <summary>How many files a publish added, changed and removed.</summary>
/// <param name="Added">New paths.</param>
/// <param name="Changed">Paths whose content or mode changed.</param>
/// <param name="Removed">Paths gone.</param>
public sealed record TreeChange(int Added, int Changed, int Removed);

/// <summary>Progress of writing a new tree.</summary>
/// <param name="FilesDone">Files written or reused.</param>
/// <param name="Files">Files to write.</param>
/// <param name="BytesDone">Bytes written or reused.</param>
/// <param name="Bytes">Bytes to write, as far as the source listed sizes.</param>
public sealed record TransferState(int FilesDone, int Files, long BytesDone, long Bytes);

/// <summary>A revision that was not published because a check refused it.</summary>
/// <param name="Revision">The refused revision.</param>
/// <param name="Check">The check: <c>signature</c>, <c>json</c>, <c>yaml</c>, <c>jsonSchema</c>, <c>exec</c> or <c>reload</c>.</param>
/// <param name="Reason">Why, naming the file or key.</param>
/// <param name="At">When.</param>
public sealed record RejectedRevision(string Revision, string Check, string Reason, DateTimeOffset At);

/// <summary>The outcome of reload verification for one revision.</summary>
/// <param name="Revision">The revision the app was asked to apply.</param>
/// <param name="State">Where verification stands.</param>
/// <param name="At">When the state was reached.</param>
/// <param name="Error">Why verification failed, or null.</param>
public sealed record ReloadState(string Revision, ReloadPhase State, DateTimeOffset At, string? Error = null);

/// <summary>Where reload verification of a revision stands (in JSON: <c>verifying</c>, <c>verified</c>, <c>failed</c>, <c>rolledBack</c>).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ReloadPhase>))]
public enum ReloadPhase
{
    /// <summary>The app was signalled; ConfigSync is asking it whether it applied the revision.</summary>
    [JsonStringEnumMemberName("verifying")]
    Verifying,

    /// <summary>The app reported the revision.</summary>
    [JsonStringEnumMemberName("verified")]
    Verified,

    /// <summary>The app did not report the revision within <c>signal.verify.timeout</c>.</summary>
    [JsonStringEnumMemberName("failed")]
    Failed,

    /// <summary>Verification failed and the live link was moved back to the previous tree.</summary>
    [JsonStringEnumMemberName("rolledBack")]
    RolledBack,
}
