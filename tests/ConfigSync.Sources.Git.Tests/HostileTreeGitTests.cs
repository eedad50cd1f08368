using ConfigSync.Publishing;
using ConfigSync.Sources.Git.Tests.TestSupport;
using Xunit.Abstractions;

namespace ConfigSync.Sources.Git.Tests;

/// <summary>
/// The hostile-tree generator as git commits: each random tree (links through links, <c>..</c> after
/// links, absolute targets, odd names) is committed with the real git and published by the git source.
/// The kernel is the oracle, as for the dir source (HostileTreeTests): every commit holding a link that
/// leaves its tree is refused naming one, and no published link resolves outside the tree.
/// </summary>
public sealed class HostileTreeGitTests(ITestOutputHelper output) : IDisposable
{
    private const int FixedSeed = 20261201;
    private const int CasesPerSeed = 40;
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Generated_HostileCommits_NeverPublishALinkThatLeavesTheTree_AndEveryRefusalNamesTheEntry()
    {
        var randomSeed = Random.Shared.Next();
        output.WriteLine($"seeds: fixed {FixedSeed}, random {randomSeed}");
        var repo = new GitRepo(_temp.Path);
        await using var git = SourceHarness.Create(new GitSourceFactory(), _temp.Combine("volume"), repo.SourceSettings());
        int cases = 0, published = 0, refusedEscapes = 0, escapesPublished = 0;
        foreach (var seed in new[] { FixedSeed, randomSeed })
        {
            var rng = new Random(seed);
            for (var i = 0; i < CasesPerSeed; i++)
            {
                foreach (var entry in Directory.EnumerateFileSystemEntries(repo.Work).Where(e => Path.GetFileName(e) != ".git"))
                {
                    if (Directory.Exists(entry) && new FileInfo(entry).LinkTarget is null)
                    {
                        Directory.Delete(entry, recursive: true);
                    }
                    else
                    {
                        File.Delete(entry);
                    }
                }

                var links = HostileTrees.Generate(rng, repo.Work);
                var escaping = links.Where(l => KernelPaths.Resolve(repo.Work, l) == KernelPaths.Resolution.Escapes).ToList();
                repo.Commit($"case {seed}/{i}");
                cases++;
                try
                {
                    if (await git.SyncAsync() is null)
                    {
                        continue;
                    }

                    published++;
                    var tree = KernelPaths.RealPath(git.Live)!;
                    foreach (var file in git.Publisher.Live!.Files.Where(f => f.Link is not null))
                    {
                        if (KernelPaths.Resolve(tree, file.Path) == KernelPaths.Resolution.Escapes)
                        {
                            escapesPublished++;
                            output.WriteLine($"seed {seed} case {i}: published '{file.Path}' -> '{file.Link}', which leaves the tree");
                        }
                    }
                }
                catch (PublishException e)
                {
                    if (escaping.Count > 0)
                    {
                        refusedEscapes++;
                        Assert.True(escaping.Any(l => e.Message.Contains($"'{PathRules.Shown(l)}' is a symbolic link", StringComparison.Ordinal)), $"seed {seed} case {i}: no escaping link named: {e.Message}");
                    }
                    else
                    {
                        Assert.Matches("'[^']+' (is a symbolic link|contains|uses the name)", e.Message);
                    }
                }
            }
        }

        output.WriteLine($"{cases} commits: published {published}, refused {refusedEscapes} for a link leaving the tree; escapes published: {escapesPublished}");
        Assert.Equal(0, escapesPublished);
        Assert.True(published >= cases / 6 && refusedEscapes >= cases / 6, $"the generator reached too few outcomes: {published} published, {refusedEscapes} refused for an escape, of {cases}");
    }
}
