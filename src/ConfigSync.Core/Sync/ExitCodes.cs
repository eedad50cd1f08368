namespace ConfigSync.Sync;

/// <summary>The process exit codes.</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Success = 0;

    /// <summary>A sync failed (<c>once</c>) or <c>maxFailures</c> was reached (<c>run</c>).</summary>
    public const int SyncFailed = 1;

    /// <summary>Bad configuration or usage.</summary>
    public const int BadConfiguration = 2;
}

/// <summary>The exit code the daemon returns when its host stops.</summary>
public sealed class ExitCodeHolder
{
    /// <summary>The exit code; 0 unless something set it.</summary>
    public int Code { get; set; }
}
