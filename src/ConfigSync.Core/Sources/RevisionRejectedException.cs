namespace ConfigSync.Sources;

/// <summary>
/// A revision was read but refused by a check (an untrusted signature, a file that does not parse,
/// a failed validation command, an app that did not apply it). Nothing of it is published; the
/// last good tree stays live, and <c>/status</c> and the metrics name the revision and the reason.
/// </summary>
public sealed class RevisionRejectedException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="revision">The refused revision.</param>
    /// <param name="check">The check that refused it: <c>signature</c>, <c>json</c>, <c>yaml</c>, <c>jsonSchema</c>, <c>exec</c>, <c>decrypt</c> or <c>reload</c>.</param>
    /// <param name="reason">Why, naming the file or key involved.</param>
    public RevisionRejectedException(string revision, string check, string reason)
        : base($"revision {revision} rejected by the {check} check: {reason}")
    {
        Revision = revision;
        Check = check;
        Reason = reason;
    }

    /// <summary>The refused revision.</summary>
    public string Revision { get; }

    /// <summary>The check that refused it.</summary>
    public string Check { get; }

    /// <summary>Why.</summary>
    public string Reason { get; }
}
