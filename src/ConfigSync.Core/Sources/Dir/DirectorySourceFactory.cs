using ConfigSync.Configuration;

namespace ConfigSync.Sources.Dir;

/// <summary>Makes <c>dir</c> sources.</summary>
public sealed class DirectorySourceFactory : SourceFactory<DirectorySourceOptions>
{
    /// <inheritdoc />
    public override string Type => "dir";

    /// <inheritdoc />
    protected override DirectorySourceOptions Read(SettingsReader reader, string baseDirectory)
    {
        var path = reader.RequiredString("path");
        var watch = reader.Bool("watch", DirectorySourceOptions.Defaults.Watch);
        var full = path.Length == 0 ? string.Empty : Path.GetFullPath(path, baseDirectory);
        return new DirectorySourceOptions { Path = full, Watch = watch };
    }

    /// <inheritdoc />
    protected override IConfigSource Create(DirectorySourceOptions options, SourceContext context) => new DirectorySource(options, context.RequestSync, context.MaxEntries);
}
