using ConfigSync.Dev;
using ConfigSync.Sync;

namespace ConfigSync.Tests.Cli;

/// <summary>The dev console's progress bar and counts.</summary>
public sealed class DevConsoleTests
{
    [Fact]
    public void Bar_FollowsBytes_OrFilesWhenSizesAreUnknown()
    {
        Assert.Equal("█████░░░░░ 50%", DevConsole.Bar(new TransferState(1, 10, 512, 1024), width: 10));
        Assert.Equal("███░░░░░░░ 30%", DevConsole.Bar(new TransferState(3, 10, 0, 0), width: 10));
        Assert.Equal("░░░░░░░░░░ 0%", DevConsole.Bar(new TransferState(0, 0, 0, 0), width: 10));
    }

    [Fact]
    public void ProgressAndChanges_AreReadable()
    {
        Assert.Equal("350/2000 files, 1.5 MiB/200 MiB", DevConsole.Progress(new TransferState(350, 2000, 3L << 19, 200L << 20)));
        Assert.Equal("+1 ~2 -3", DevConsole.Changes(new TreeChange(1, 2, 3)));
        Assert.Equal("kept from the last run", DevConsole.Changes(null));
        Assert.Equal("999 B", DevConsole.Bytes(999));
        Assert.Equal("2 KiB", DevConsole.Bytes(2048));
    }
}
