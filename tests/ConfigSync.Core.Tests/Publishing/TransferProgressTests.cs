using ConfigSync.Publishing;
using ConfigSync.Sources;
using ConfigSync.Sync;
using ConfigSync.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace ConfigSync.Tests.Publishing;

/// <summary>The progress of a tree being written, as <c>/status</c> and <c>configsync dev</c> show it.</summary>
public sealed class TransferProgressTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Publish_ReportsFilesAndBytesDoneWhileWriting_AndNothingAfter()
    {
        var settings = Settings.ForDirectory(_temp.Combine("src"), _temp.Combine("root"));
        var publisher = new TreePublisher(settings, "test-source", TimeProvider.System, NullLogger.Instance);
        publisher.Recover();
        var snapshot = new HeldSnapshot([new SourceEntry("a.txt", 3, "va"), new SourceEntry("b.txt", 5, "vb")]);
        Assert.Null(publisher.Progress.Snapshot());

        var publish = publisher.PublishAsync(snapshot, snapshot.Entries, CancellationToken.None);
        await snapshot.Holding.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var during = publisher.Progress.Snapshot();
        snapshot.Release.SetResult();
        var manifest = await publish;

        Assert.Equal(new TransferState(FilesDone: 1, Files: 2, BytesDone: 3 + 2, Bytes: 8), during);
        Assert.Equal(2, manifest!.Files.Count);
        Assert.Null(publisher.Progress.Snapshot());
    }

    /// <summary>Writes a.txt at once; of b.txt two bytes, then waits to be released.</summary>
    private sealed class HeldSnapshot(IReadOnlyList<SourceEntry> entries) : SourceSnapshot("r1", entries)
    {
        public TaskCompletionSource Holding { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async Task WriteContentAsync(SourceEntry entry, Stream destination, CancellationToken cancellationToken)
        {
            if (entry.Path == "a.txt")
            {
                await destination.WriteAsync("aaa"u8.ToArray(), cancellationToken);
                return;
            }

            await destination.WriteAsync("bb"u8.ToArray(), cancellationToken);
            Holding.SetResult();
            await Release.Task;
            await destination.WriteAsync("bbb"u8.ToArray(), cancellationToken);
        }
    }
}
