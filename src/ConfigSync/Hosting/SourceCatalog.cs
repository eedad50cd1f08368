using ConfigSync.Sources;
using ConfigSync.Sources.AzureBlob;
using ConfigSync.Sources.Dir;
using ConfigSync.Sources.Git;
using ConfigSync.Sources.S3;

namespace ConfigSync.Hosting;

/// <summary>
/// The source types this build knows. A new source adds one line here (and the project reference, solution,
/// chart and test entries README.md's "Adding a source" lists; <c>SourceRegistrationTests</c> checks them).
/// </summary>
internal static class SourceCatalog
{
    public static IReadOnlyList<ISourceFactory> All { get; } =
    [
        new DirectorySourceFactory(),
        new GitSourceFactory(),
        new S3SourceFactory(),
        new AzureBlobSourceFactory(),
    ];

    /// <summary>The types in catalog order, for help text: <c>dir, git, s3 or azureblob</c>.</summary>
    public static string TypeList
    {
        get
        {
            var types = All.Select(f => f.Type).ToList();
            return types.Count < 2 ? string.Join(string.Empty, types) : $"{string.Join(", ", types[..^1])} or {types[^1]}";
        }
    }
}
