using ConfigSync.Configuration;
using ConfigSync.Publishing;
using ConfigSync.Sources;
using ConfigSync.Sources.Dir;
using ConfigSync.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace ConfigSync.Tests.Publishing;

/// <summary>
/// Random hostile trees (link chains, links to folders, <c>..</c> after links, absolute targets,
/// control characters, the layouts' own names) made for real in a folder, read by the dir source and
/// published through every layout. The kernel is the oracle: openat2 with RESOLVE_BENEATH says which
/// links leave the tree at any step; every such tree must be refused naming the link, and in every
/// tree that is published no link resolves outside it. A folder beside the roots must never change.
/// </summary>
public sealed class HostileTreeTests(ITestOutputHelper output) : IDisposable
{
    private const int FixedSeed = 20261201;
    private const int CasesPerSeed = 150;
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Generated_HostileTrees_NeverPublishALinkThatLeavesTheTree_AndEveryRefusalNamesTheEntry()
    {
        var randomSeed = Random.Shared.Next();
        output.WriteLine($"seeds: fixed {FixedSeed}, random {randomSeed} (rerun one with HOSTILE_SEED=<n>)");
        var seeds = Environment.GetEnvironmentVariable("HOSTILE_SEED") is { } forced ? [int.Parse(forced, System.Globalization.CultureInfo.InvariantCulture)] : new[] { FixedSeed, randomSeed };
        var victim = MakeVictim();
        var before = FolderSnapshot.Of(victim);
        var tally = new Tally();
        foreach (var seed in seeds)
        {
            await RunSeedAsync(seed, tally);
        }

        output.WriteLine($"{tally.Cases} trees, {tally.Links} links ({tally.KernelEscapes} leave the tree per the kernel); published {tally.Published}, refused {tally.Refused} ({tally.RefusedEscapes} for a link leaving the tree, {tally.RefusedNames} for a name; {tally.StricterThanKernel} refused where the kernel would stop inside); escapes published: {tally.EscapesPublished}");
        Assert.Equal(0, tally.EscapesPublished);
        Assert.Equal(before, FolderSnapshot.Of(victim));

        // The generator must reach both outcomes often, or the test proves nothing.
        Assert.True(tally.Published >= tally.Cases / 5, $"only {tally.Published} of {tally.Cases} trees were published");
        Assert.True(tally.RefusedEscapes >= tally.Cases / 5, $"only {tally.RefusedEscapes} of {tally.Cases} trees were refused for an escaping link");
    }

    [Fact]
    public async Task LinkChain_ThroughTheTreesOwnRoot_IsRefusedNamingTheLink()
    {
        // The issue's case: x at six folders deep points at the tree's root; y climbs out through x.
        var source = _temp.Combine("chain", "src");
        var deep = Path.Combine(source, "1", "2", "3", "4", "5", "6");
        Directory.CreateDirectory(deep);
        File.WriteAllText(Path.Combine(source, "keep.txt"), "ok");
        File.CreateSymbolicLink(Path.Combine(deep, "x"), "../../../../../..");
        File.CreateSymbolicLink(Path.Combine(deep, "y"), "x/../../../../../../../etc/passwd");
        Assert.Equal(KernelPaths.Resolution.Escapes, KernelPaths.Resolve(source, "1/2/3/4/5/6/y"));
        Assert.Equal(KernelPaths.Resolution.Inside, KernelPaths.Resolve(source, "1/2/3/4/5/6/x"));

        foreach (var layout in Enum.GetValues<TreeLayout>())
        {
            var publisher = Publisher(source, _temp.Combine("chain", layout.ToString()), layout);
            publisher.Recover();
            var error = await Assert.ThrowsAsync<PublishException>(() => PublishDirAsync(source, publisher));
            Assert.Contains("'1/2/3/4/5/6/y' is a symbolic link to 'x/../../../../../../../etc/passwd', which leads outside the tree through the tree's own links", error.Message);
            Assert.DoesNotContain("'1/2/3/4/5/6/x'", error.Message);
        }
    }

    private async Task RunSeedAsync(int seed, Tally tally)
    {
        var rng = new Random(seed);
        var publishers = Enum.GetValues<TreeLayout>().ToDictionary(l => l, l => Publisher(string.Empty, _temp.Combine($"roots-{seed}", l.ToString()), l));
        foreach (var publisher in publishers.Values)
        {
            publisher.Recover();
        }

        for (var i = 0; i < CasesPerSeed; i++)
        {
            var layout = (TreeLayout)(i % 3);
            var source = _temp.Combine($"s{seed}", "1", "2", "3", "4", "5", "6", "7", "8", $"case{i}");
            var links = HostileTrees.Generate(rng, source);
            var escaping = links.Where(l => KernelPaths.Resolve(source, l) == KernelPaths.Resolution.Escapes).ToList();
            tally.Cases++;
            tally.Links += links.Count;
            tally.KernelEscapes += escaping.Count;

            var publisher = publishers[layout];
            var liveBefore = publisher.Live;
            try
            {
                var manifest = await PublishDirAsync(source, publisher);
                tally.Published++;
                if (escaping.Count > 0)
                {
                    tally.EscapesPublished += escaping.Count;
                    output.WriteLine($"seed {seed} case {i} ({layout}): published escaping links {string.Join(", ", escaping)}");
                }

                CheckPublished(publisher, manifest, tally, seed, i);
            }
            catch (PublishException e)
            {
                tally.Refused++;
                Assert.Same(liveBefore, publisher.Live);
                if (escaping.Count > 0)
                {
                    tally.RefusedEscapes++;
                    Assert.True(escaping.Any(l => e.Message.Contains($"'{PathRules.Shown(l)}' is a symbolic link", StringComparison.Ordinal)), $"seed {seed} case {i}: the refusal names none of the escaping links {string.Join(", ", escaping)}: {e.Message}");
                }
                else if (e.Message.Contains("symbolic link", StringComparison.Ordinal))
                {
                    tally.StricterThanKernel++;
                    if (tally.StricterThanKernel <= 3)
                    {
                        output.WriteLine($"stricter than the kernel (seed {seed} case {i}): {e.Message}");
                    }

                    Assert.Matches("'[^']+' is a symbolic link", e.Message);
                }
                else
                {
                    tally.RefusedNames++;
                    Assert.Matches("'[^']+' (contains|uses the name)", e.Message);
                }
            }
        }
    }

    private static void CheckPublished(TreePublisher publisher, Manifest? manifest, Tally tally, int seed, int i)
    {
        var live = publisher.Live ?? throw new InvalidOperationException("nothing is live after a publish");
        var tree = KernelPaths.RealPath(publisher.LivePath)!;
        foreach (var file in live.Files.Where(f => f.Link is not null))
        {
            if (KernelPaths.Resolve(tree, file.Path) == KernelPaths.Resolution.Escapes)
            {
                tally.EscapesPublished++;
            }

            // realpath, as an app would see the file: inside the tree or not resolvable at all.
            if (KernelPaths.RealPath(Path.Combine(publisher.LivePath, file.Path)) is { } real && !real.StartsWith(tree + "/", StringComparison.Ordinal) && real != tree)
            {
                throw new Xunit.Sdk.XunitException($"seed {seed} case {i}: '{file.Path}' resolves to {real}, outside {tree}");
            }
        }

        Assert.True(manifest is null || manifest.Tree == live.Tree);
    }

    private static async Task<Manifest?> PublishDirAsync(string source, TreePublisher publisher)
    {
        await using var dir = ((ISourceFactory)new DirectorySourceFactory()).Create(new DirectorySourceOptions { Path = source }, new SourceContext("test", source, NullLoggerFactory.Instance, TimeProvider.System));
        var snapshot = await dir.PollAsync(new PollContext(null), CancellationToken.None) ?? throw new InvalidOperationException("no snapshot");
        return await publisher.PublishAsync(snapshot, snapshot.Entries, CancellationToken.None);
    }

    private TreePublisher Publisher(string source, string root, TreeLayout layout) =>
        new(Settings.ForDirectory(source, root, t => t with { Layout = layout }), "dir", TimeProvider.System, NullLogger.Instance);

    private string MakeVictim()
    {
        var victim = _temp.Combine("victim");
        Directory.CreateDirectory(Path.Combine(victim, "etc"));
        File.WriteAllText(Path.Combine(victim, "etc", "passwd"), "root:x:0:0");
        File.WriteAllText(Path.Combine(victim, "root.yaml"), "victim");
        return victim;
    }

    private sealed class Tally
    {
        public int Cases;
        public int Links;
        public int KernelEscapes;
        public int Published;
        public int Refused;
        public int RefusedEscapes;
        public int RefusedNames;
        public int StricterThanKernel;
        public int EscapesPublished;
    }
}
