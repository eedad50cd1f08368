using ConfigSync.Sources;
using ConfigSync.Sources.AzureBlob;
using ConfigSync.Sources.Dir;
using ConfigSync.Sources.Git;
using ConfigSync.Sources.S3;

namespace ConfigSync.Hosting;

/// <summary>The source types this build knows. A new source adds one line here.</summary>
internal static class SourceCatalog
{
    public static IReadOnlyList<ISourceFactory> All { get; } =
    [
        new DirectorySourceFactory(),
        new GitSourceFactory(),
        new S3SourceFactory(),
        new AzureBlobSourceFactory(),
    ];
}
