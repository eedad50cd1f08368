using ConfigSync.Publishing;
using ConfigSync.Sources;
using ConfigSync.Sources.Dir;
using ConfigSync.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace ConfigSync.Tests.Sources;

public sealed class DirectorySourceTests : IDisposable
{
    private readonly TempFolder _temp = new();

    private string Source => _temp.Combine("src");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Publish_FolderChangedDuringTheCopy_PublishesNothing_AndTheNextAttemptCopiesOneState()
    {
        _temp.Write("src/a.yaml", "a: 1");
        _temp.Write("src/b.yaml", "b: 1");
        var publisher = Publisher();
        publisher.Recover();
        await PublishAsync(publisher);
        _temp.Write("src/a.yaml", "a: 2");
        await using var source = Create();
        var snapshot = (await source.PollAsync(new PollContext(null), CancellationToken.None))!;

        // An editor saves two files after the folder was listed and before they were copied.
        // Same sizes, new contents: only a second look at the folder can tell.
        _temp.Write("src/a.yaml", "a: 3");
        _temp.Write("src/b.yaml", "b: 3");
        var error = await Assert.ThrowsAsync<SourceException>(() => publisher.PublishAsync(snapshot, snapshot.Entries, CancellationToken.None));

        Assert.Contains("changed while it was copied", error.Message);
        Assert.Equal("a: 1", File.ReadAllText(Path.Combine(publisher.LivePath, "a.yaml")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_temp.Combine("root", ".configsync", "staging")));
        await PublishAsync(publisher);
        Assert.Equal(("a: 3", "b: 3"), (File.ReadAllText(Path.Combine(publisher.LivePath, "a.yaml")), File.ReadAllText(Path.Combine(publisher.LivePath, "b.yaml"))));
    }

    [Fact]
    public async Task Publish_FileSwappedForALinkAfterTheWalk_IsNotReadThroughIt()
    {
        _temp.Write("src/a.yaml", "a: 1");
        _temp.Write("outside/secret.txt", "secret outside the source");
        var publisher = Publisher();
        publisher.Recover();
        await using var source = Create();
        var snapshot = (await source.PollAsync(new PollContext(null), CancellationToken.None))!;
        File.Delete(Path.Combine(Source, "a.yaml"));
        File.CreateSymbolicLink(Path.Combine(Source, "a.yaml"), _temp.Combine("outside", "secret.txt"));

        var error = await Assert.ThrowsAsync<SourceException>(() => publisher.PublishAsync(snapshot, snapshot.Entries, CancellationToken.None));

        Assert.Contains("'a.yaml'", error.Message);
        Assert.Contains("symbolic link", error.Message);
        Assert.Null(publisher.Live);
        Assert.DoesNotContain(Directory.EnumerateFiles(_temp.Combine("root"), "*", SearchOption.AllDirectories), f => File.ReadAllText(f).Contains("secret", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Poll_FolderOverMaxFiles_StopsWalking_AndFailsByName()
    {
        for (var i = 0; i < 6; i++)
        {
            _temp.Write($"src/f{i}.yaml", "x");
        }

        await using var source = ((ISourceFactory)new DirectorySourceFactory()).Create(new DirectorySourceOptions { Path = Source }, new SourceContext("test", _temp.Combine("state"), NullLoggerFactory.Instance, TimeProvider.System) { MaxEntries = 3 });

        var error = await Assert.ThrowsAsync<SourceException>(() => source.PollAsync(new PollContext(null), CancellationToken.None));

        Assert.Contains("lists more than limits.maxFiles (3) entries", error.Message);
    }

    private IConfigSource Create() =>
        ((ISourceFactory)new DirectorySourceFactory()).Create(new DirectorySourceOptions { Path = Source }, new SourceContext("test", _temp.Combine("state"), NullLoggerFactory.Instance, TimeProvider.System));

    private async Task PublishAsync(TreePublisher publisher)
    {
        await using var source = Create();
        var snapshot = (await source.PollAsync(new PollContext(null), CancellationToken.None))!;
        await publisher.PublishAsync(snapshot, snapshot.Entries, CancellationToken.None);
    }

    private TreePublisher Publisher() =>
        new(Settings.ForDirectory(Source, _temp.Combine("root")), "dir", TimeProvider.System, NullLogger.Instance);
}
