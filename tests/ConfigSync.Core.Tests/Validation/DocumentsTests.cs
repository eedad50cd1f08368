using System.Diagnostics;
using System.Text;
using ConfigSync.Tests.TestSupport;
using ConfigSync.Validation;

namespace ConfigSync.Tests.Validation;

/// <summary>The JSON and YAML parsers of the validate checks, on hostile files written to a real temp folder.</summary>
public sealed class DocumentsTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void ParseYaml_ThirtyThousandDeepFlowYaml_IsRefusedWithTheDepthNamed()
    {
        // 60 KB that overflowed the stack of YamlStream.Load and killed the process (exit 134).
        var path = _temp.Write("deep.yaml", "a: " + new string('[', 30_000) + new string(']', 30_000));

        var problem = Documents.ParseYaml(path);

        // The mapping is level 1, so the 64th '[' (column 3 + 64) opens level 65.
        Assert.Equal("nested deeper than 64 levels at line 1, column 67", problem);
    }

    [Fact]
    public void ParseYaml_ThirtyThousandDeepBlockYaml_IsRefusedWithTheDepthNamed()
    {
        var path = _temp.Write("deep.yaml", string.Concat(Enumerable.Repeat("- ", 30_000)) + "x\n");

        var problem = Documents.ParseYaml(path);

        Assert.Equal("nested deeper than 64 levels at line 1, column 129", problem);
    }

    [Fact]
    public void ParseJson_HundredThousandDeepJson_IsRefusedWithTheDepthNamed()
    {
        var path = _temp.Write("deep.json", "\n" + new string('[', 100_000) + new string(']', 100_000));

        var problem = Documents.ParseJson(path, out var document);

        Assert.Null(document);
        Assert.Equal("nested deeper than 64 levels at line 2, column 65", problem);
    }

    [Theory]
    [InlineData("deep.json", "[")]
    [InlineData("deep.json", "{\"items\":")]
    [InlineData("deep.json", "{\"const\":[")]
    public void LoadSchema_HundredThousandDeepSchema_IsRefusedByName(string name, string level)
    {
        var closing = level.Replace("{\"items\":", "}", StringComparison.Ordinal).Replace("{\"const\":[", "]}", StringComparison.Ordinal).Replace("[", "]", StringComparison.Ordinal);
        _temp.Write("tree/" + name, string.Concat(Enumerable.Repeat(level, 100_000)) + "true" + string.Concat(Enumerable.Repeat(closing, 100_000)));
        var problems = new List<string>();

        var check = SchemaCheck.Load(name, _temp.Combine("tree"), problems);

        Assert.Null(check);
        var problem = Assert.Single(problems);
        Assert.StartsWith($"schema {name}: nested deeper than 64 levels at line 1, column ", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseYaml_BillionLaughs_IsRefusedQuickly_NamingTheBudgetAndWhere()
    {
        // Nine levels of nine aliases: 9^9 (about 387 million) nodes once expanded, from under 1 KB.
        var yaml = new StringBuilder("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (var level = 1; level <= 8; level++)
        {
            yaml.Append($"l{level}: &l{level} [{string.Join(", ", Enumerable.Repeat($"*l{level - 1}", 9))}]\n");
        }

        var path = _temp.Write("bomb.yaml", yaml.ToString());
        var clock = Stopwatch.StartNew();

        var problem = Documents.ParseYaml(path, out var documents);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Empty(documents);
        // Lines 1-6 hold 672,610 nodes; the first *l5 of line 7 adds 597,871.
        Assert.Equal("the YAML expands to more than 1000000 nodes (aliases) at line 7, column 10", problem);
    }

    [Fact]
    public void ParseYaml_ManyAliasesWithinTheBudget_AreExpanded()
    {
        var path = _temp.Write("aliases.yaml", "base: &base {a: 1, b: [x, y]}\nc: [*base, *base]\n");

        var problem = Documents.ParseYaml(path, out var documents);

        Assert.Null(problem);
        Assert.Equal("""{"base":{"a":1,"b":["x","y"]},"c":[{"a":1,"b":["x","y"]},{"a":1,"b":["x","y"]}]}""", Assert.Single(documents)!.ToJsonString());
    }

    [Theory]
    [InlineData("json")]
    [InlineData("yaml")]
    public void Parse_SixtyFourLevels_AreAccepted_AndSixtyFiveRefused_InJsonAndYamlAlike(string format)
    {
        string Nested(int depth) => new string('[', depth) + "1" + new string(']', depth);
        var atLimit = _temp.Write($"64.{format}", Nested(64));
        var overLimit = _temp.Write($"65.{format}", Nested(65));

        var accepted = format == "json" ? Documents.ParseJson(atLimit, out _) : Documents.ParseYaml(atLimit);
        var refused = format == "json" ? Documents.ParseJson(overLimit, out _) : Documents.ParseYaml(overLimit);

        Assert.Null(accepted);
        Assert.Equal("nested deeper than 64 levels at line 1, column 65", refused);
    }

    [Fact]
    public void ParseYaml_AliasThatNestsPastTheLimit_IsRefused()
    {
        // Each anchor is 40 levels deep; the alias puts one inside another, 80 levels once expanded.
        var deep = new string('[', 40) + "1" + new string(']', 40);
        var path = _temp.Write("alias-depth.yaml", $"a: &a {deep}\nb: {new string('[', 30)}*a{new string(']', 30)}\n");

        var problem = Documents.ParseYaml(path);

        Assert.Equal("nested deeper than 64 levels (through the alias *a) at line 2, column 34", problem);
    }

    [Fact]
    public void ParseYaml_AliasInsideItsOwnAnchor_IsRefusedAsACycle()
    {
        var path = _temp.Write("cycle.yaml", "a: &a [x, *a]\n");

        var problem = Documents.ParseYaml(path);

        Assert.Equal("the alias *a is inside the node it refers to (a cycle) at line 1, column 11", problem);
    }

    [Fact]
    public void ParseYaml_AliasToNoAnchor_GivesLineAndColumn()
    {
        var path = _temp.Write("alias.yaml", "a: 1\nb: *nosuch\n");

        var problem = Documents.ParseYaml(path);

        Assert.Equal("not valid YAML at line 2, column 4: the alias *nosuch names no anchor defined before it in this document", problem);
    }

    [Theory]
    [InlineData("- [a, b\n- c\n", "not valid YAML at line 2, column 1: inside a flow collection")]
    [InlineData("a: [1, 2\n", "not valid YAML at line 2, column 1: While parsing a flow sequence")]
    [InlineData("a: {b: [1}\n", "not valid YAML at line 1, column 10: While parsing a flow sequence")]
    public void ParseYaml_MalformedFlowCollection_GivesLineAndColumn(string yaml, string expected)
    {
        var path = _temp.Write("bad.yaml", yaml);

        var problem = Documents.ParseYaml(path);

        Assert.NotNull(problem);
        Assert.StartsWith(expected, problem, StringComparison.Ordinal);
        Assert.DoesNotContain("current state of the object", problem, StringComparison.Ordinal);
    }
}
