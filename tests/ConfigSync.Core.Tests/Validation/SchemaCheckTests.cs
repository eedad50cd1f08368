using ConfigSync.Tests.TestSupport;
using ConfigSync.Validation;

namespace ConfigSync.Tests.Validation;

/// <summary>A JSON Schema loaded from a real folder and checked against real JSON and YAML files.</summary>
public sealed class SchemaCheckTests : IDisposable
{
    private const string Schema = """
        {
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "type": "object",
          "required": ["port"],
          "properties": { "port": { "type": "integer", "minimum": 1, "maximum": 65535 }, "debug": { "type": "boolean" }, "name": { "type": "string" } }
        }
        """;

    private readonly TempFolder _temp = new();
    private readonly List<string> _problems = [];

    private string Tree => _temp.Combine("tree");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Load_RelativeSchema_IsReadFromTheTree_AbsoluteFromDisk()
    {
        _temp.Write("tree/schemas/app.json", Schema);
        var onDisk = _temp.Write("elsewhere/app.json", Schema);

        Assert.NotNull(SchemaCheck.Load("schemas/app.json", Tree, _problems));
        Assert.NotNull(SchemaCheck.Load(onDisk, Tree, _problems));
        Assert.Empty(_problems);
    }

    [Fact]
    public void Load_MissingSchema_IsNamedMissing()
    {
        Directory.CreateDirectory(Tree);

        Assert.Null(SchemaCheck.Load("schemas/app.json", Tree, _problems));
        Assert.Equal(["schema schemas/app.json: cannot be read (missing)"], _problems);
    }

    [Fact]
    public void Load_MalformedJson_IsNamedWithLineAndColumn()
    {
        _temp.Write("tree/schema.json", "{\n  \"type\": \"object\",\n  oops\n}");

        Assert.Null(SchemaCheck.Load("schema.json", Tree, _problems));
        Assert.StartsWith("schema schema.json: not valid JSON at line 3, column 3", Assert.Single(_problems), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_JsonThatIsNotASchema_IsNamed()
    {
        _temp.Write("tree/schema.json", """{ "type": 12 }""");

        Assert.Null(SchemaCheck.Load("schema.json", Tree, _problems));
        Assert.StartsWith("schema schema.json: not a valid JSON Schema: ", Assert.Single(_problems), StringComparison.Ordinal);
    }

    [Fact]
    public void Check_MatchingJson_AndEveryMatchingYamlDocument_Pass()
    {
        var check = Load();

        Assert.Null(check.Check(_temp.Write("tree/app.json", """{"port": 8080, "debug": true}""")));
        Assert.Null(check.Check(_temp.Write("tree/app.yaml", "port: 8080\n---\nport: 9090\ndebug: false\n")));
    }

    [Fact]
    public void Check_ViolationInTheSecondYamlDocument_NamesTheKeyAndTheRule()
    {
        var check = Load();

        var problem = check.Check(_temp.Write("tree/app.yaml", "port: 8080\n---\nport: 70000\n"));

        Assert.NotNull(problem);
        Assert.StartsWith("does not match the schema: /port: ", problem, StringComparison.Ordinal);
        Assert.Contains("65535", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_YamlScalarsFollowTheCoreSchema_AQuotedNumberIsAString()
    {
        var check = Load();

        Assert.Null(check.Check(_temp.Write("tree/plain.yaml", "port: 8080\ndebug: true\n")));
        Assert.StartsWith("does not match the schema: /port: ", check.Check(_temp.Write("tree/quoted.yaml", "port: \"8080\"\n")), StringComparison.Ordinal);
    }

    [Fact]
    public void Check_MissingRequiredKey_IsReportedAtTheRoot()
    {
        var check = Load();

        Assert.StartsWith("does not match the schema: /: ", check.Check(_temp.Write("tree/app.json", """{"debug": true}""")), StringComparison.Ordinal);
    }

    [Fact]
    public void Check_ManyViolations_NamesAtMostThree()
    {
        var check = Load();

        var problem = check.Check(_temp.Write("tree/app.json", """{"port": "x", "debug": "x", "name": 1, "extra": 2}"""))!;

        Assert.StartsWith("does not match the schema: ", problem, StringComparison.Ordinal);
        Assert.Equal(3, problem["does not match the schema: ".Length..].Split(", /").Length);
    }

    [Fact]
    public void Check_MalformedFile_ReturnsTheParseProblem()
    {
        var check = Load();

        Assert.StartsWith("not valid JSON at line 1", check.Check(_temp.Write("tree/app.json", "{\"port\": }")), StringComparison.Ordinal);
        Assert.Contains("line 2", check.Check(_temp.Write("tree/app.yaml", "port: 1\n  bad: [\n")), StringComparison.Ordinal);
    }

    [Fact]
    public void Check_SchemaWithARefToAnotherFile_IsNamedNotFetched()
    {
        _temp.Write("tree/schema.json", """{ "$ref": "https://example.invalid/other.json" }""");
        var check = SchemaCheck.Load("schema.json", Tree, _problems)!;

        Assert.StartsWith("the schema cannot be evaluated: ", check.Check(_temp.Write("tree/app.json", """{"port": 1}""")), StringComparison.Ordinal);
    }

    private SchemaCheck Load()
    {
        _temp.Write("tree/schema.json", Schema);
        var check = SchemaCheck.Load("schema.json", Tree, _problems);
        Assert.Empty(_problems);
        return check!;
    }
}
