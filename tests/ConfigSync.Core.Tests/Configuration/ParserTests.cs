using ConfigSync.Configuration;

namespace ConfigSync.Tests.Configuration;

public class ParserTests
{
    [Theory]
    [InlineData("30s", 30_000)]
    [InlineData("500ms", 500)]
    [InlineData("2m", 120_000)]
    [InlineData("1h30m", 5_400_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("0", 0)]
    [InlineData("45", 45_000)]
    public void Duration_ValidText_Parses(string text, long milliseconds)
    {
        Assert.True(DurationParser.TryParse(text, out var value));
        Assert.Equal(milliseconds, (long)value.TotalMilliseconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("30 s")]
    [InlineData("-5s")]
    [InlineData("5x")]
    [InlineData("s30")]
    public void Duration_InvalidText_IsRefused(string text) => Assert.False(DurationParser.TryParse(text, out _));

    [Theory]
    [InlineData(90_000, "1m30s")]
    [InlineData(250, "250ms")]
    [InlineData(7_200_000, "2h")]
    public void Duration_Format_IsCompact(long milliseconds, string expected) =>
        Assert.Equal(expected, DurationParser.Format(TimeSpan.FromMilliseconds(milliseconds)));

    [Theory]
    [InlineData("1024", 1024)]
    [InlineData("64Ki", 65_536)]
    [InlineData("256Mi", 268_435_456)]
    [InlineData("1G", 1_000_000_000)]
    [InlineData("2Gi", 2_147_483_648)]
    public void ByteSize_ValidText_Parses(string text, long expected)
    {
        Assert.True(ByteSizeParser.TryParse(text, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("lots")]
    [InlineData("1.5Gi")]
    [InlineData("-1")]
    [InlineData("99999999999Ti")]
    public void ByteSize_InvalidText_IsRefused(string text) => Assert.False(ByteSizeParser.TryParse(text, out _));
}
