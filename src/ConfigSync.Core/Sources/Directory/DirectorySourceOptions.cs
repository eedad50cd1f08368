namespace ConfigSync.Sources.Directory;

/// <summary>Settings of the <c>dir</c> source: a local folder (dev sync, the demo, mounted volumes).</summary>
public sealed class DirectorySourceOptions
{
    /// <summary>The folder to publish; relative paths are resolved against the config file's folder.</summary>
    public required string Path { get; init; }

    /// <summary>Also sync on file-system events, not only at the interval. <value>The default value is false.</value></summary>
    public bool Watch { get; init; }
}
