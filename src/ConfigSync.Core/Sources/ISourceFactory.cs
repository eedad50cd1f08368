using ConfigSync.Configuration;
using Microsoft.Extensions.Logging;

namespace ConfigSync.Sources;

/// <summary>Makes sources of one type: reads and validates their settings, then creates them.</summary>
public interface ISourceFactory
{
    /// <summary>The <c>source.type</c> this factory answers to.</summary>
    string Type { get; }

    /// <summary>Reads the source's own settings; problems go to the reader, by setting name.</summary>
    /// <param name="reader">The <c>source</c> section (the <c>type</c> key is already read).</param>
    /// <param name="baseDirectory">Folder that relative paths are resolved against.</param>
    object ReadOptions(SettingsReader reader, string baseDirectory);

    /// <summary>Creates the source for one sync.</summary>
    IConfigSource Create(object options, SourceContext context);

    /// <summary>The bucket or container the same settings name, to publish into (<c>configsync publish</c>); null for types that cannot be written.</summary>
    IObjectStore? CreateStore(object options, SourceContext context) => null;

    /// <summary>The index key the options name (<c>index</c>), or null.</summary>
    string? IndexOf(object options) => null;
}

/// <summary>What a source gets from the daemon.</summary>
/// <param name="SyncName">The sync's name.</param>
/// <param name="CacheDirectory">The sync's private state folder (mode 0700, off the shared volume): credentials and caches go there.</param>
/// <param name="LoggerFactory">For the source's logs.</param>
/// <param name="TimeProvider">The clock.</param>
public sealed record SourceContext(string SyncName, string CacheDirectory, ILoggerFactory LoggerFactory, TimeProvider TimeProvider)
{
    /// <summary>Wakes the sync loop for a poll now (coalesced); for sources that learn of changes by themselves.</summary>
    public Action RequestSync { get; init; } = static () => { };

    /// <summary>
    /// The most entries a listing may hold (the sync's <c>limits.maxFiles</c>): a source stops listing past it
    /// and fails by name, so a hostile bucket of millions of keys costs no memory in proportion.
    /// <value>The default value is <see cref="int.MaxValue"/>.</value>
    /// </summary>
    public int MaxEntries { get; init; } = int.MaxValue;

    /// <summary>Counts the source's requests to its origin and the answers that throttled it. <value>The default value counts without metrics.</value></summary>
    public SourceMeter Meter { get; init; } = new(SyncName, null);
}

/// <summary>Base class binding a factory to its options type.</summary>
/// <typeparam name="TOptions">The source's options.</typeparam>
public abstract class SourceFactory<TOptions> : ISourceFactory
    where TOptions : class
{
    /// <inheritdoc />
    public abstract string Type { get; }

    /// <inheritdoc />
    object ISourceFactory.ReadOptions(SettingsReader reader, string baseDirectory) => Read(reader, baseDirectory);

    /// <inheritdoc />
    IConfigSource ISourceFactory.Create(object options, SourceContext context) => Create((TOptions)options, context);

    /// <inheritdoc />
    IObjectStore? ISourceFactory.CreateStore(object options, SourceContext context) => CreateStore((TOptions)options, context);

    /// <inheritdoc />
    string? ISourceFactory.IndexOf(object options) => IndexOf((TOptions)options);

    /// <summary>The store to publish into; null when the type cannot be written.</summary>
    protected virtual IObjectStore? CreateStore(TOptions options, SourceContext context) => null;

    /// <summary>The index key of the options, or null.</summary>
    protected virtual string? IndexOf(TOptions options) => null;

    /// <summary>Reads the options.</summary>
    protected abstract TOptions Read(SettingsReader reader, string baseDirectory);

    /// <summary>Creates the source.</summary>
    protected abstract IConfigSource Create(TOptions options, SourceContext context);
}
