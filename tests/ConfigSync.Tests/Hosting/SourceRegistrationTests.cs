using System.CommandLine;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using ConfigSync.Cli;
using ConfigSync.Hosting;

namespace ConfigSync.Tests.Hosting;

/// <summary>
/// A source is registered in several places (README.md, "Adding a source"): the catalog, the host's project
/// references, the solution, the chart schema's list of types, the help text, the README and its test project.
/// Each test compares one of them with the catalog, both ways, so a source added or removed in one place only fails
/// here by name.
/// </summary>
public sealed class SourceRegistrationTests
{
    private const string SourcePrefix = "ConfigSync.Sources.";

    private static readonly string Root = FindRepoRoot();

    /// <summary>Every type in the catalog (built-in ones too).</summary>
    private static readonly string[] CatalogTypes = [.. SourceCatalog.All.Select(f => f.Type)];

    /// <summary>The catalog's sources that live in a project of their own (the assembly of their factory), by name.</summary>
    private static readonly string[] CatalogProjects =
    [
        .. SourceCatalog.All
            .Select(f => f.GetType().Assembly.GetName().Name!)
            .Where(name => name.StartsWith(SourcePrefix, StringComparison.Ordinal))
            .Distinct()
            .Order(StringComparer.Ordinal),
    ];

    [Fact]
    public void Catalog_TypesAreDistinctLowerCaseWords_AndTheSourceProjectsAreFound()
    {
        Assert.Equal(CatalogTypes.Length, CatalogTypes.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.All(CatalogTypes, type => Assert.Matches("^[a-z][a-z0-9]*$", type));
        // The other tests compare with this list: it must not be empty by mistake (the git, s3 and azureblob projects).
        Assert.Contains("ConfigSync.Sources.S3", CatalogProjects);
    }

    [Fact]
    public void SourceProjectsUnderSrc_AreTheCatalogsProjects()
    {
        var folders = Directory.EnumerateDirectories(Path.Combine(Root, "src"), SourcePrefix + "*")
            .Select(Path.GetFileName)
            .Where(name => File.Exists(Path.Combine(Root, "src", name!, name + ".csproj")))
            .Order(StringComparer.Ordinal);
        Assert.Equal(CatalogProjects, folders);
    }

    [Fact]
    public void HostProjectReferences_AreTheCatalogsProjects()
    {
        var references = ProjectReferences(Path.Combine(Root, "src", "ConfigSync", "ConfigSync.csproj"))
            .Where(name => name.StartsWith(SourcePrefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
        Assert.Equal(CatalogProjects, references);
    }

    [Fact]
    public void Solution_HoldsEachSourceProjectAndItsTestProject_WithBuildConfigurations()
    {
        var solution = File.ReadAllText(Path.Combine(Root, "ConfigSync.sln"));
        var projects = Regex.Matches(solution, """^Project\("\{[^}]+\}"\) = "([^"]+)", "([^"]+)", "\{([^}]+)\}"$""", RegexOptions.Multiline)
            .ToDictionary(m => m.Groups[2].Value.Replace('\\', '/'), m => m.Groups[3].Value, StringComparer.Ordinal);

        foreach (var project in CatalogProjects)
        {
            foreach (var path in new[] { $"src/{project}/{project}.csproj", $"tests/{project}.Tests/{project}.Tests.csproj" })
            {
                Assert.True(projects.TryGetValue(path, out var guid), $"ConfigSync.sln has no entry for {path} (dotnet sln add {path})");
                Assert.Contains($"{{{guid}}}.Release|Any CPU.Build.0", solution, StringComparison.OrdinalIgnoreCase);
            }
        }

        var sourceProjects = projects.Keys
            .Where(path => path.StartsWith("src/" + SourcePrefix, StringComparison.Ordinal))
            .Select(path => path.Split('/')[1])
            .Order(StringComparer.Ordinal);
        Assert.Equal(CatalogProjects, sourceProjects);
    }

    [Fact]
    public void EachSourceProject_HasATestProject_ThatReferencesIt_AndImportsTheSharedHelpers()
    {
        var coreProject = XDocument.Load(Path.Combine(Root, "src", "ConfigSync.Core", "ConfigSync.Core.csproj"));
        var coreFriends = coreProject.Descendants("InternalsVisibleTo").Select(e => (string?)e.Attribute("Include")).ToHashSet(StringComparer.Ordinal);
        foreach (var project in CatalogProjects)
        {
            var testProject = Path.Combine(Root, "tests", project + ".Tests", project + ".Tests.csproj");
            Assert.True(File.Exists(testProject), $"no test project {Path.GetRelativePath(Root, testProject)}");
            Assert.Contains(project, ProjectReferences(testProject));
            var imports = XDocument.Load(testProject).Descendants("Import").Select(e => ((string?)e.Attribute("Project"))?.Replace('\\', '/'));
            Assert.Contains("../Shared/SourceTests.props", imports);

            // SourceHarness (linked by the props) uses ConfigSync.Core's internal publisher.
            Assert.True(coreFriends.Contains(project + ".Tests"), $"src/ConfigSync.Core/ConfigSync.Core.csproj has no InternalsVisibleTo {project}.Tests");
        }
    }

    [Fact]
    public void ChartSchema_SourceTypeEnum_IsTheCatalogsTypes()
    {
        var schema = JsonNode.Parse(File.ReadAllText(Path.Combine(Root, "charts", "config-sync", "values.schema.json")))!;
        var type = schema["properties"]!["config"]!["properties"]!["syncs"]!["items"]!["properties"]!["source"]!["properties"]!["type"]!;
        var values = type["enum"]!.AsArray().Select(v => v!.GetValue<string>()).Order(StringComparer.Ordinal);
        Assert.Equal(CatalogTypes.Order(StringComparer.Ordinal), values);
    }

    [Fact]
    public void SourceFlagHelp_NamesEveryCatalogType()
    {
        var command = new Command("run");
        new SyncFlags().AddTo(command);
        var description = command.Options.Single(o => o.Name == "--source").Description!;
        Assert.All(CatalogTypes, type => Assert.Matches($@"\b{Regex.Escape(type)}\b", description));
    }

    [Fact]
    public void Readme_DocumentsEveryCatalogType_AndNoOther()
    {
        var readme = File.ReadAllText(Path.Combine(Root, "README.md"));
        var sources = Section(readme, "### Sources");
        var documented = Regex.Matches(sources, @"^- \*\*`([a-z0-9]+)`\*\*", RegexOptions.Multiline).Select(m => m.Groups[1].Value).Order(StringComparer.Ordinal);
        Assert.Equal(CatalogTypes.Order(StringComparer.Ordinal), documented);

        // The configuration example's comment lists them too.
        var listed = Regex.Match(readme, @"type: dir\s+# ([a-z0-9 |]+) \(see their sections\)").Groups[1].Value.Split(" | ").Order(StringComparer.Ordinal);
        Assert.Equal(CatalogTypes.Order(StringComparer.Ordinal), listed);

        Assert.Contains("### Adding a source", readme, StringComparison.Ordinal);
    }

    private static IEnumerable<string> ProjectReferences(string project) =>
        XDocument.Load(project).Descendants("ProjectReference")
            .Select(e => Path.GetFileNameWithoutExtension(((string)e.Attribute("Include")!).Replace('\\', '/')));

    /// <summary>The text of a README section, from its heading to the next heading of the same or a higher level.</summary>
    private static string Section(string markdown, string heading)
    {
        var start = markdown.IndexOf("\n" + heading + "\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"README.md has no section '{heading}'");
        var level = heading.IndexOf(' ', StringComparison.Ordinal);
        var end = Regex.Match(markdown[(start + heading.Length + 2)..], $"^#{{1,{level}}} ", RegexOptions.Multiline);
        return end.Success ? markdown.Substring(start, heading.Length + 2 + end.Index) : markdown[start..];
    }

    private static string FindRepoRoot()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "ConfigSync.sln")))
        {
            folder = folder.Parent;
        }

        return folder?.FullName ?? throw new InvalidOperationException("cannot find ConfigSync.sln above the test folder");
    }
}
