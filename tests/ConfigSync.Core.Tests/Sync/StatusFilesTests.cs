using System.Text.Json;
using ConfigSync.Configuration;
using ConfigSync.Sync;
using ConfigSync.Tests.TestSupport;
using Microsoft.Extensions.Logging;

namespace ConfigSync.Tests.Sync;

/// <summary>The touch file and the error file, on real folders; a file's mtime is set back before each step so a move shows without waiting.</summary>
public sealed class StatusFilesTests : IDisposable
{
    private static readonly DateTime LongAgo = new(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private readonly TempFolder _temp = new();
    private readonly RecordingLogger _log = new();

    private string Root => _temp.Combine("volume");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Failed_WritesGitSyncsErrorJson_UpdatesTheCount_AndSucceededRemovesIt()
    {
        var errorFile = _temp.Combine("status", "error.json");
        var files = Create(s => s with { ErrorFile = errorFile });

        files.Failed("source unreachable", 1);
        files.Failed("bucket missing", 2);

        using (var json = JsonDocument.Parse(File.ReadAllText(errorFile)))
        {
            Assert.Equal("error syncing repo, will retry", json.RootElement.GetProperty("Msg").GetString());
            Assert.Equal("bucket missing", json.RootElement.GetProperty("Err").GetString());
            Assert.Equal(2, json.RootElement.GetProperty("Args").GetProperty("failCount").GetInt32());
            Assert.Equal("test", json.RootElement.GetProperty("Args").GetProperty("sync").GetString());
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(errorFile));
        Assert.Equal(["error.json"], Directory.EnumerateFileSystemEntries(_temp.Combine("status")).Select(Path.GetFileName));

        files.Succeeded(published: false);

        Assert.False(File.Exists(errorFile));
        Assert.Empty(_log.Lines);
    }

    [Fact]
    public void Succeeded_MovesTheTouchFile_OnTheFirstSuccessAndOnEachPublish_NotOnAnUnchangedPoll()
    {
        var touchFile = _temp.Combine("touched");
        var files = Create(s => s with { TouchFile = touchFile });

        files.Succeeded(published: false);
        Assert.True(File.Exists(touchFile), "the first success touches the file");

        File.SetLastWriteTimeUtc(touchFile, LongAgo);
        files.Succeeded(published: false);
        Assert.Equal(LongAgo, File.GetLastWriteTimeUtc(touchFile));

        files.Succeeded(published: true);
        Assert.True(File.GetLastWriteTimeUtc(touchFile) > LongAgo, "a publish moves the touch file");

        File.SetLastWriteTimeUtc(touchFile, LongAgo);
        files.Failed("down", 1);
        Assert.Equal(LongAgo, File.GetLastWriteTimeUtc(touchFile));
    }

    [Fact]
    public void StatusFiles_UnderTheRoot_MissingFoldersAreCreated()
    {
        var errorFile = Path.Combine(Root, "status", "sync", "error.json");
        var touchFile = Path.Combine(Root, "status", "touched");
        var files = Create(s => s with { ErrorFile = errorFile, TouchFile = touchFile });

        files.Failed("down", 1);
        files.Succeeded(published: true);

        Assert.True(Directory.Exists(Path.Combine(Root, "status", "sync")));
        Assert.False(File.Exists(errorFile));
        Assert.True(File.Exists(touchFile));
    }

    [Fact]
    public void ErrorFile_UnderTheRoot_BehindAFolderSwappedForALink_IsNotWrittenThroughIt_AndTheFailureIsLogged()
    {
        var victim = Directory.CreateDirectory(_temp.Combine("victim")).FullName;
        Directory.CreateDirectory(Root);
        File.CreateSymbolicLink(Path.Combine(Root, "status"), victim);
        var files = Create(s => s with { ErrorFile = Path.Combine(Root, "status", "error.json") });

        files.Failed("down", 1);

        Assert.Empty(Directory.EnumerateFileSystemEntries(victim));
        var line = Assert.Single(_log.Lines);
        Assert.StartsWith($"Warning test: could not update {Path.Combine(Root, "status", "error.json")}: ", line);
    }

    [Fact]
    public void TouchFile_ThatIsALink_IsNotFollowed_AndTheFailureIsLogged()
    {
        var victim = _temp.Write("victim.txt", "keep");
        File.SetLastWriteTimeUtc(victim, LongAgo);
        Directory.CreateDirectory(Root);
        var touchFile = Path.Combine(Root, "touched");
        File.CreateSymbolicLink(touchFile, victim);
        var files = Create(s => s with { TouchFile = touchFile });

        files.Succeeded(published: true);

        Assert.Equal(LongAgo, File.GetLastWriteTimeUtc(victim));
        Assert.StartsWith($"Warning test: could not update {touchFile}: ", Assert.Single(_log.Lines));
    }

    [Fact]
    public void ErrorFile_OutsideTheRoot_TheOperatorsPathIsTakenAsItIs_LinksIncluded()
    {
        var real = Directory.CreateDirectory(_temp.Combine("real")).FullName;
        File.CreateSymbolicLink(_temp.Combine("linked"), real);
        var files = Create(s => s with { ErrorFile = _temp.Combine("linked", "error.json") });

        files.Failed("down", 3);

        Assert.True(File.Exists(Path.Combine(real, "error.json")));
        Assert.Empty(_log.Lines);
    }

    [Fact]
    public void ErrorFile_WhoseFolderIsAFile_IsLogged_AndNeverThrows()
    {
        var blocker = _temp.Write("blocker", "a file where a folder should be");
        var files = Create(s => s with { ErrorFile = Path.Combine(blocker, "error.json"), TouchFile = Path.Combine(blocker, "touched") });

        files.Failed("down", 1);
        files.Succeeded(published: true);

        Assert.Equal(3, _log.Lines.Count);
        Assert.Equal("a file where a folder should be", File.ReadAllText(blocker));
    }

    [Fact]
    public void NoStatusFiles_NothingIsWritten()
    {
        var files = Create(s => s);

        files.Failed("down", 1);
        files.Succeeded(published: true);

        Assert.Empty(Directory.EnumerateFileSystemEntries(_temp.Path));
        Assert.Empty(_log.Lines);
    }

    private StatusFiles Create(Func<SyncSettings, SyncSettings> sync) =>
        new(Settings.ForDirectory(_temp.Combine("source"), Root, sync: sync), _log);

    private sealed class RecordingLogger : ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add($"{logLevel} {formatter(state, exception)}");
    }
}
