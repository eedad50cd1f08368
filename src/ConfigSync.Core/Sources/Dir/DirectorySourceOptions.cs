namespace ConfigSync.Sources.Dir;

/// <summary>Settings of the <c>dir</c> source: a local folder (dev sync, the demo, mounted volumes).</summary>
public sealed class DirectorySourceOptions
{
    /// <summary>Every default, declared once by the initializers below, for the factory to start from; <see cref="Path"/> has none and holds a placeholder.</summary>
    internal static readonly DirectorySourceOptions Defaults = new() { Path = string.Empty };

    /// <summary>The folder to publish; relative paths are resolved against the config file's folder.</summary>
    public required string Path { get; init; }

    /// <summary>Also sync on file-system events (debounced by <see cref="WatchDebounce"/>), not only at the interval. <value>The default value is false.</value></summary>
    public bool Watch { get; init; }

    /// <summary>Quiet time after the last file-system event before a sync is requested. <value>The default value is 200 milliseconds.</value></summary>
    public TimeSpan WatchDebounce { get; init; } = TimeSpan.FromMilliseconds(200);
}
