using ConfigSync.Publishing;

namespace ConfigSync.Tests.Publishing;

/// <summary>The order in which parallel writers take the files of a tree.</summary>
public sealed class TreeWriterTests
{
    [Fact]
    public void InterleaveByFolder_TakesOneFileOfEachFolderInTurn_AndKeepsEveryFile()
    {
        string[] paths = ["a/1", "a/2", "a/3", "b/1", "top", "c/d/1", "c/d/2", "b/2"];

        var ordered = TreeWriter.InterleaveByFolder(paths, p => p);

        Assert.Equal(["a/1", "b/1", "top", "c/d/1", "a/2", "b/2", "c/d/2", "a/3"], ordered);
    }

    [Fact]
    public void InterleaveByFolder_OneFolder_KeepsTheOrder()
    {
        string[] paths = ["x/3", "x/1", "x/2"];

        Assert.Equal(paths, TreeWriter.InterleaveByFolder(paths, p => p));
    }
}
