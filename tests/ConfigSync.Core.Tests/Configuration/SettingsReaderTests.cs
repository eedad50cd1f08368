using ConfigSync.Configuration;
using Microsoft.Extensions.Configuration;

namespace ConfigSync.Tests.Configuration;

/// <summary>The typed reader every setting goes through: values, defaults, and each problem named by its full setting name.</summary>
public sealed class SettingsReaderTests
{
    private readonly List<string> _errors = [];

    [Fact]
    public void Problems_AreNamedByTheirFullSettingName_AndCollectedInsteadOfStopping()
    {
        var sync = Reader(new() { ["syncs:0:target:fileMode"] = "0666", ["syncs:0:target:keep"] = "many", ["syncs:0:interval"] = "soon" })
            .Items("syncs")[0];
        var target = sync.Section("target");

        Assert.Equal("syncs[0].target", target.Path);
        Assert.Equal((UnixFileMode)0x1A4, target.Mode("fileMode", (UnixFileMode)0x1A4));
        Assert.Equal(2, target.Int("keep", 2));
        Assert.Equal(TimeSpan.FromSeconds(30), sync.Duration("interval", TimeSpan.FromSeconds(30)));

        Assert.Equal(
            [
                "syncs[0].target.fileMode: '0666' is world-writable; ConfigSync never publishes world-writable files",
                "syncs[0].target.keep: 'many' is not a whole number",
                "syncs[0].interval: 'soon' is not a duration (examples: 500ms, 30s, 2m, 1h30m)",
            ],
            _errors);
        Assert.Same(_errors, target.Errors);
    }

    [Fact]
    public void String_IsTrimmed_EmptyCountsAsAbsent_AndASectionIsRefused()
    {
        var reader = Reader(new() { ["name"] = "  app  ", ["blank"] = "  ", ["nested:key"] = "x" });

        Assert.Equal("app", reader.String("name"));
        Assert.Equal("fallback", reader.String("blank", "fallback"));
        Assert.Equal("fallback", reader.String("absent", "fallback"));
        Assert.Null(reader.String("nested"));
        Assert.Equal(["nested: must be a single value, not a section"], _errors);
    }

    [Fact]
    public void RequiredString_Missing_IsNamedRequired()
    {
        var reader = Reader(new() { ["url"] = "" });

        Assert.Equal(string.Empty, reader.RequiredString("url"));
        Assert.Equal(["url: is required"], _errors);
    }

    [Fact]
    public void Choice_IsCaseInsensitive_AndAnUnknownWordListsTheAllowedOnes()
    {
        var reader = Reader(new() { ["layout"] = "Kubelet", ["format"] = "xml" });

        Assert.Equal("kubelet", reader.Choice("layout", "link", "link", "kubelet", "copy"));
        Assert.Equal("console", reader.Choice("format", "console", "console", "json"));
        Assert.Equal("link", reader.Choice("absent", "link", "link", "copy"));
        Assert.Equal(["format: 'xml' is not one of: console, json"], _errors);
    }

    [Fact]
    public void Duration_ParsesCompoundValues_AndRefusesOnesBelowTheMinimum()
    {
        var reader = Reader(new() { ["interval"] = "1h30m", ["timeout"] = "5ms" });

        Assert.Equal(TimeSpan.FromMinutes(90), reader.Duration("interval", TimeSpan.Zero));
        Assert.Equal(TimeSpan.FromSeconds(1), reader.Duration("timeout", TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(10)));
        Assert.Equal(["timeout: '5ms' is too short; the minimum is 10ms"], _errors);
    }

    [Fact]
    public void Bytes_ParsesBinaryUnits_AndRefusesZeroAndText()
    {
        var reader = Reader(new() { ["a"] = "64Ki", ["b"] = "256Mi", ["c"] = "0", ["d"] = "lots" });

        Assert.Equal(65536L, reader.Bytes("a", 1));
        Assert.Equal(256L << 20, reader.Bytes("b", 1));
        Assert.Equal(7L, reader.Bytes("c", 7));
        Assert.Equal(7L, reader.Bytes("d", 7));
        Assert.Equal(
            ["c: '0' is not a positive size (examples: 65536, 64Ki, 256Mi, 1Gi)", "d: 'lots' is not a positive size (examples: 65536, 64Ki, 256Mi, 1Gi)"],
            _errors);
    }

    [Fact]
    public void Int_OutsideItsRange_NamesTheRange()
    {
        var reader = Reader(new() { ["keep"] = "-1", ["workers"] = "65", ["ok"] = "-3" });

        Assert.Equal(2, reader.Int("keep", 2, min: 0));
        Assert.Equal(4, reader.Int("workers", 4, 1, 64));
        Assert.Equal(-3, reader.Int("ok", 0));
        Assert.Equal(["keep: -1 is below the minimum 0", "workers: 65 is outside 1..64"], _errors);
    }

    [Fact]
    public void Double_OutsideItsRange_NamesTheRange()
    {
        var reader = Reader(new() { ["jitter"] = "0.25", ["bad"] = "1.5" });

        Assert.Equal(0.25, reader.Double("jitter", 0, 0, 1));
        Assert.Equal(0.1, reader.Double("bad", 0.1, 0, 1));
        Assert.Equal(["bad: '1.5' is not a number between 0 and 1"], _errors);
    }

    [Fact]
    public void Bool_AcceptsTrueAndFalseInAnyCase_AndNothingElse()
    {
        var reader = Reader(new() { ["a"] = "True", ["b"] = "false", ["c"] = "yes" });

        Assert.True(reader.Bool("a", false));
        Assert.False(reader.Bool("b", true));
        Assert.True(reader.Bool("c", true));
        Assert.Equal(["c: 'yes' is not true or false"], _errors);
    }

    [Fact]
    public void Mode_ReadsOctal_AndRefusesNonOctalOutOfRangeAndWorldWritable()
    {
        var reader = Reader(new() { ["a"] = "0640", ["b"] = "0o750", ["c"] = "0899", ["d"] = "01000", ["e"] = "0757" });

        Assert.Equal((UnixFileMode)Convert.ToInt32("640", 8), reader.Mode("a", 0));
        Assert.Equal((UnixFileMode)Convert.ToInt32("750", 8), reader.Mode("b", 0));
        Assert.Equal((UnixFileMode)0x1A4, reader.Mode("c", (UnixFileMode)0x1A4));
        Assert.Equal((UnixFileMode)0x1A4, reader.Mode("d", (UnixFileMode)0x1A4));
        Assert.Equal((UnixFileMode)0x1A4, reader.Mode("e", (UnixFileMode)0x1A4));
        Assert.Equal(
            [
                "c: '0899' is not an octal mode (examples: \"0644\", \"0440\"); quote it in YAML",
                "d: '01000' is not a permission mode between 0000 and 0777",
                "e: '0757' is world-writable; ConfigSync never publishes world-writable files",
            ],
            _errors);
    }

    [Fact]
    public void List_ASingleValueIsAListOfOne_ItemsKeepTheirNumericOrder_AndANestedItemIsRefused()
    {
        var values = new Dictionary<string, string?> { ["one"] = "**/*.yaml", ["nested:0"] = "a", ["nested:1:x"] = "b" };
        for (var i = 0; i < 12; i++)
        {
            values[$"many:{i}"] = $"item{i}";
        }

        var reader = Reader(values);

        Assert.Equal(["**/*.yaml"], reader.List("one", []));
        Assert.Equal(Enumerable.Range(0, 12).Select(i => $"item{i}"), reader.List("many", []));
        Assert.Equal(["default"], reader.List("absent", ["default"]));
        Assert.Equal(["a"], reader.List("nested", []));
        Assert.Equal(["nested: must be a list of strings"], _errors);
    }

    [Fact]
    public void Map_ReadsValuesCaseInsensitively_AndANestedValueIsNamed()
    {
        var reader = Reader(new() { ["headers:X-Custom"] = "yes", ["headers:X-Bad:deep"] = "no" });

        var map = reader.Map("headers");

        Assert.Equal("yes", map["x-custom"]);
        Assert.Single(map);
        Assert.Equal(["headers.X-Bad: must be a single value"], _errors);
    }

    [Fact]
    public void Items_AreInNumericOrder_NamedByIndex_AndAValueOrAKeyIsNotAList()
    {
        var values = new Dictionary<string, string?> { ["scalar"] = "x", ["mixed:0:name"] = "a", ["mixed:key:name"] = "b" };
        for (var i = 0; i < 11; i++)
        {
            values[$"syncs:{i}:name"] = $"s{i}";
        }

        var reader = Reader(values);

        var syncs = reader.Items("syncs");
        Assert.Equal(Enumerable.Range(0, 11).Select(i => $"syncs[{i}]"), syncs.Select(s => s.Path));
        Assert.Equal(Enumerable.Range(0, 11).Select(i => $"s{i}"), syncs.Select(s => s.String("name")));
        Assert.Empty(reader.Items("scalar"));
        Assert.Equal(["mixed[0]"], reader.Items("mixed").Select(s => s.Path));
        Assert.Equal(["scalar: must be a list", "mixed: must be a list, found key 'key'"], _errors);
    }

    [Fact]
    public void ReportUnknownKeys_NamesEveryUnreadKey_InNestedSectionsAndItemsToo()
    {
        var reader = Reader(new()
        {
            ["http:listen"] = "0.0.0.0:8081", ["http:lisen"] = "typo",
            ["syncs:0:name"] = "a", ["syncs:0:intervall"] = "1s",
            ["log:format"] = "json", ["extra"] = "x", ["later"] = "y",
        });
        reader.Section("http").String("listen");
        reader.Items("syncs")[0].String("name");
        reader.Section("log").KnownAll();
        reader.Known("later");

        reader.ReportUnknownKeys();

        Assert.Equal(["extra: unknown setting", "http.lisen: unknown setting", "syncs[0].intervall: unknown setting"], _errors.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void HasAndIsSection_TellAValueFromASection()
    {
        var reader = Reader(new() { ["value"] = "1", ["section:key"] = "2" });

        Assert.True(reader.Has("value"));
        Assert.True(reader.Has("section"));
        Assert.False(reader.Has("absent"));
        Assert.False(reader.IsSection("value"));
        Assert.True(reader.IsSection("section"));
        Assert.Equal("section.key", reader.Section("section").NameOf("key"));
        Assert.Equal("value", reader.NameOf("value"));
    }

    [Fact]
    public void Error_IsRecordedUnderTheSectionsName()
    {
        var reader = Reader(new() { ["source:type"] = "dir" }).Section("source");

        reader.Error("type", "not allowed here");

        Assert.Equal(["source.type: not allowed here"], _errors);
    }

    private SettingsReader Reader(Dictionary<string, string?> values) =>
        new(new ConfigurationBuilder().AddInMemoryCollection(values).Build(), string.Empty, _errors);
}
