using ConfigSync.IntegrationTests.Support;

namespace ConfigSync.IntegrationTests;

/// <summary><c>layout: copy</c> through the daemon process: a real folder, files replaced in place, deletions applied.</summary>
public sealed class CopyLayoutTests : IDisposable
{
    private readonly Scenario _scenario = new();

    public void Dispose() => _scenario.Dispose();

    [Fact]
    public async Task Once_CopyLayout_PublishesARealFolder_ThenAppliesChangesAndDeletions()
    {
        _scenario.Temp.Write("source/app.yaml", "v: 1");
        _scenario.Temp.Write("source/old/gone.yaml", "bye");
        var source = $"""
            type: dir
            path: {_scenario.Source}
            """;
        _scenario.WriteSourceConfig(source, target: "layout: copy");

        var (first, firstOutput) = await Daemon.RunAsync(["once", "--config", _scenario.ConfigFile]);
        File.Delete(_scenario.Temp.Combine("source", "old", "gone.yaml"));
        Directory.Delete(_scenario.Temp.Combine("source", "old"));
        _scenario.Temp.Write("source/app.yaml", "v: 2");
        var (second, secondOutput) = await Daemon.RunAsync(["once", "--config", _scenario.ConfigFile]);

        Assert.True(first == 0, firstOutput);
        Assert.True(second == 0, secondOutput);
        Assert.Null(new FileInfo(_scenario.Live).LinkTarget);
        Assert.True(Directory.Exists(_scenario.Live));
        Assert.Equal("v: 2", File.ReadAllText(Path.Combine(_scenario.Live, "app.yaml")));
        Assert.False(Directory.Exists(Path.Combine(_scenario.Live, "old")));
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(_scenario.Root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }), p => new FileInfo(p).LinkTarget is not null);
    }
}
