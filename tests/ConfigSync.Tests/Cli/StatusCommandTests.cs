using ConfigSync.Cli;
using ConfigSync.Http;
using ConfigSync.Sync;

namespace ConfigSync.Tests.Cli;

public class StatusCommandTests
{
    [Fact]
    public void Format_PrintsOneAlignedRowPerSync()
    {
        var now = DateTimeOffset.Parse("2026-01-01T00:01:00Z", System.Globalization.CultureInfo.InvariantCulture);
        var document = new StatusDocument(false, new Dictionary<string, SyncStatus>
        {
            ["web"] = new() { Name = "web", Source = "dir:/x", Path = "/config/current", Revision = "0123456789abcdef", Files = 3, Bytes = 42, LastSuccess = now.AddSeconds(-90), Ready = true },
            ["db"] = new() { Name = "db", Source = "dir:/y", Path = "/db/current", ConsecutiveFailures = 2, LastError = "source folder '/y' does not exist" },
        });

        var lines = StatusCommand.Format(document, now).TrimEnd().Split('\n');

        Assert.Equal(3, lines.Length);
        Assert.StartsWith("SYNC  READY  REVISION", lines[0], StringComparison.Ordinal);
        Assert.Equal("db    no     -             0      0      never         2         source folder '/y' does not exist", lines[1]);
        Assert.Equal("web   yes    0123456789ab  3      42     1m30s ago     0         -", lines[2]);
    }
}
