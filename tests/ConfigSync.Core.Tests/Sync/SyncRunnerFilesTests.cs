using System.Text.Json;
using ConfigSync.Diagnostics;
using ConfigSync.Publishing;
using ConfigSync.Sources;
using ConfigSync.Sources.Dir;
using ConfigSync.Sync;
using ConfigSync.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace ConfigSync.Tests.Sync;

/// <summary>What a sync reports beside the tree: the touch file, the error file (git-sync's), the last change's counts.</summary>
public sealed class SyncRunnerFilesTests : IDisposable
{
    private readonly TempFolder _temp = new();

    private string Source => _temp.Combine("src");

    private string Root => _temp.Combine("root");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task ErrorFile_HoldsTheErrorWhileFailing_AndGoesOnSuccess_TouchFileMovesOnlyWhenSomethingPublished()
    {
        var touch = _temp.Combine("root/touched");
        var error = _temp.Combine("root/state/error.json");
        await using var runner = Create(touch, error);
        runner.Initialize(null);

        Assert.False(await runner.AttemptAsync(CancellationToken.None));
        Assert.False(await runner.AttemptAsync(CancellationToken.None));
        using (var json = JsonDocument.Parse(File.ReadAllText(error)))
        {
            Assert.Equal($"source folder '{Source}' does not exist", json.RootElement.GetProperty("Err").GetString());
            Assert.Equal(2, json.RootElement.GetProperty("Args").GetProperty("failCount").GetInt32());
        }

        Assert.False(File.Exists(touch));

        _temp.Write("src/app.yaml", "a: 1");
        Assert.True(await runner.AttemptAsync(CancellationToken.None));
        Assert.False(File.Exists(error));
        Assert.True(File.Exists(touch));

        var old = new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(touch, old);
        Assert.True(await runner.AttemptAsync(CancellationToken.None));
        Assert.Equal(old, File.GetLastWriteTimeUtc(touch));

        _temp.Write("src/app.yaml", "a: 2");
        Assert.True(await runner.AttemptAsync(CancellationToken.None));
        Assert.NotEqual(old, File.GetLastWriteTimeUtc(touch));
    }

    [Fact]
    public async Task LastChanges_CountsAddedChangedAndRemovedAgainstTheTreeBefore()
    {
        _temp.Write("src/a.yaml", "1");
        _temp.Write("src/b.yaml", "1");
        _temp.Write("src/c.yaml", "1");
        await using var runner = Create(null, null);
        runner.Initialize(null);
        Assert.True(await runner.AttemptAsync(CancellationToken.None));
        Assert.Equal(new TreeChange(3, 0, 0), runner.Status.LastChanges);

        _temp.Write("src/b.yaml", "2");
        File.Delete(Path.Combine(Source, "c.yaml"));
        _temp.Write("src/d.yaml", "1");
        _temp.Write("src/e.yaml", "1");
        Assert.True(await runner.AttemptAsync(CancellationToken.None));

        Assert.Equal(new TreeChange(2, 1, 1), runner.Status.LastChanges);
        Assert.Null(runner.Status.Transfer);
    }

    private SyncRunner Create(string? touchFile, string? errorFile)
    {
        var settings = Settings.ForDirectory(Source, Root, sync: s => s with { TouchFile = touchFile, ErrorFile = errorFile });
        var source = (new DirectorySourceFactory() as ISourceFactory).Create(settings.Source.Options, new SourceContext("test", Root, NullLoggerFactory.Instance, TimeProvider.System));
        var publisher = new TreePublisher(settings, source.Describe, TimeProvider.System, NullLogger.Instance);
        return new SyncRunner(settings, source, publisher, new SyncMetrics(), TimeProvider.System, NullLogger.Instance);
    }
}
