using ConfigSync.Configuration;
using ConfigSync.Publishing;
using ConfigSync.Sources;
using ConfigSync.Tests.Publishing;
using ConfigSync.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace ConfigSync.Tests.Validation;

/// <summary>Pre-publish checks, run by the real publisher on a real staged tree.</summary>
public sealed class TreeValidatorTests : IDisposable
{
    private const string Schema = """
        {
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "type": "object",
          "required": ["port"],
          "properties": { "port": { "type": "integer", "minimum": 1, "maximum": 65535 }, "debug": { "type": "boolean" } }
        }
        """;

    private readonly TempFolder _temp = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    private string Root => _temp.Combine("root");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Publish_BrokenJson_IsRejectedWithFileAndLine_AndTheLiveTreeStays()
    {
        var publisher = Create(new CheckSettings { Type = CheckType.Json, Files = ["**/*.json"] });
        publisher.Recover();
        var good = await publisher.PublishAsync(ListedSnapshot.Of("good", ("app.json", """{"a": 1}""")), null);

        var e = await Assert.ThrowsAsync<RevisionRejectedException>(() =>
            publisher.PublishAsync(ListedSnapshot.Of("bad", ("app.json", "{\n  \"a\": 1,\n  oops\n}"), ("notes.txt", "not json, not checked")), null));

        Assert.Equal("bad", e.Revision);
        Assert.Equal("json", e.Check);
        Assert.StartsWith("app.json: not valid JSON at line 3, column 3", e.Reason, StringComparison.Ordinal);
        Assert.Equal($".configsync/trees/{good!.Tree}", new FileInfo(Path.Combine(Root, "current")).LinkTarget);
        Assert.Equal("""{"a": 1}""", File.ReadAllText(Path.Combine(Root, "current", "app.json")));
        Assert.Single(Directory.GetDirectories(Path.Combine(Root, ".configsync", "trees")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(Root, ".configsync", "staging")));
    }

    [Fact]
    public async Task Publish_BrokenYamlInAnyDocument_IsRejected_AndValidYamlPublishes()
    {
        var publisher = Create(new CheckSettings { Type = CheckType.Yaml, Files = ["**/*.yaml"] });
        publisher.Recover();

        var e = await Assert.ThrowsAsync<RevisionRejectedException>(() =>
            publisher.PublishAsync(ListedSnapshot.Of("bad", ("k8s/all.yaml", "a: 1\n---\nb: c: d\n")), null));
        var published = await publisher.PublishAsync(ListedSnapshot.Of("good", ("k8s/all.yaml", "a: 1\n---\nb: [1, 2]\n")), null);

        Assert.Equal("yaml", e.Check);
        Assert.Contains("k8s/all.yaml: not valid YAML at line 3", e.Reason, StringComparison.Ordinal);
        Assert.NotNull(published);
    }

    [Fact]
    public async Task Publish_JsonSchemaFromTheTree_ChecksJsonAndYaml_NamingTheFailingKey()
    {
        var check = new CheckSettings { Type = CheckType.JsonSchema, Files = ["settings.yaml", "extra/*.json"], Schema = "schemas/settings.json" };
        var publisher = Create(check);
        publisher.Recover();

        var e = await Assert.ThrowsAsync<RevisionRejectedException>(() => publisher.PublishAsync(
            ListedSnapshot.Of("bad", ("schemas/settings.json", Schema), ("settings.yaml", "port: \"8080\"\ndebug: true\n"), ("extra/b.json", """{"port": 70000}""")), null));
        var published = await publisher.PublishAsync(
            ListedSnapshot.Of("good", ("schemas/settings.json", Schema), ("settings.yaml", "port: 8080\ndebug: false\n"), ("extra/b.json", """{"port": 443}""")), null);

        Assert.Equal("jsonSchema", e.Check);
        Assert.Contains("settings.yaml: does not match the schema: /port:", e.Reason, StringComparison.Ordinal);
        Assert.Contains("extra/b.json: does not match the schema: /port:", e.Reason, StringComparison.Ordinal);
        Assert.NotNull(published);
    }

    [Fact]
    public async Task Publish_SchemaFromDisk_NamedFileMissing_IsRejected()
    {
        var schemaPath = _temp.Combine("schema.json");
        File.WriteAllText(schemaPath, Schema);
        var publisher = Create(new CheckSettings { Type = CheckType.JsonSchema, Files = ["app.json"], Schema = schemaPath });
        publisher.Recover();

        var e = await Assert.ThrowsAsync<RevisionRejectedException>(() => publisher.PublishAsync(ListedSnapshot.Of("r1", ("other.json", "{}")), null));

        Assert.Equal("app.json: missing (named in files)", e.Reason);
    }

    [Fact]
    public async Task Publish_ExecCheck_RunsInTheStagedFolder_AndANonZeroExitRejects()
    {
        // The command proves it runs inside the staged tree (not the live one) and sees the revision.
        var script = """[ "$(pwd)" = "$CONFIGSYNC_TREE" ] && [ "$CONFIGSYNC_REVISION" = "$(cat rev.txt)" ] && grep -q '^ok$' verdict.txt || { echo "verdict is $(cat verdict.txt)" >&2; exit 3; }""";
        var publisher = Create(new CheckSettings { Type = CheckType.Exec, Command = ["sh", "-c", script] });
        publisher.Recover();

        var e = await Assert.ThrowsAsync<RevisionRejectedException>(() => publisher.PublishAsync(ListedSnapshot.Of("r1", ("rev.txt", "r1"), ("verdict.txt", "broken")), null));
        var published = await publisher.PublishAsync(ListedSnapshot.Of("r2", ("rev.txt", "r2"), ("verdict.txt", "ok")), null);

        Assert.Equal("exec", e.Check);
        Assert.Equal("sh exited with 3: verdict is broken", e.Reason);
        Assert.NotNull(published);
        Assert.Equal("r2", published.Revision);
    }

    [Fact]
    public async Task Publish_ExecCheckPastItsTimeout_IsRejectedAndKilled()
    {
        var publisher = Create(new CheckSettings { Type = CheckType.Exec, Command = ["sleep", "30"], Timeout = TimeSpan.FromMilliseconds(200) });
        publisher.Recover();

        var e = await Assert.ThrowsAsync<RevisionRejectedException>(() => publisher.PublishAsync(ListedSnapshot.Of("r1", ("a", "1")), null));

        Assert.Equal("sleep did not finish within 200ms", e.Reason);
    }

    [Fact]
    public async Task Publish_YamlAliasBomb_IsRejectedInsteadOfExhaustingMemory()
    {
        var bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
            + "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n";
        var schemaPath = _temp.Combine("any.json");
        File.WriteAllText(schemaPath, "{}");
        var publisher = Create(new CheckSettings { Type = CheckType.JsonSchema, Files = ["bomb.yaml"], Schema = schemaPath });
        publisher.Recover();

        var e = await Assert.ThrowsAsync<RevisionRejectedException>(() => publisher.PublishAsync(ListedSnapshot.Of("r1", ("bomb.yaml", bomb)), null));

        Assert.Contains("more than 1000000 nodes", e.Reason, StringComparison.Ordinal);
    }

    private TreePublisher Create(params CheckSettings[] checks) =>
        new(Settings.ForDirectory(_temp.Combine("src"), Root, sync: s => s with { Validate = checks }), "test-source", _time, NullLogger.Instance);
}
