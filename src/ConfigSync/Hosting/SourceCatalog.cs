using ConfigSync.Sources;
using ConfigSync.Sources.Dir;
using ConfigSync.Sources.Git;

namespace ConfigSync.Hosting;

/// <summary>The source types this build knows. A new source adds one line here.</summary>
internal static class SourceCatalog
{
    public static IReadOnlyList<ISourceFactory> All { get; } =
    [
        new DirectorySourceFactory(),
        new GitSourceFactory(),
    ];
}
