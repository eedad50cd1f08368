using System.Buffers.Binary;
using System.Text.RegularExpressions;
using ConfigSync.IntegrationTests.Support;

namespace ConfigSync.IntegrationTests;

/// <summary>
/// docker/Dockerfile, read as text: what the chart and the probes rely on. The binary it builds is
/// the one the integration tests run (scripts/test.sh runs the same publish command); ImageTests runs
/// the image itself.
/// </summary>
public sealed partial class DockerfileTests
{
    private static readonly string[] Lines = File.ReadAllLines(Path.Combine(Daemon.RepoRoot, "docker", "Dockerfile"))
        .Where(l => !l.TrimStart().StartsWith('#'))
        .ToArray();

    [Fact]
    public void BuildsWithTheSdk_AndRunsOnRuntimeDeps_BothPinnedToAPatchVersion()
    {
        var arguments = Lines.Where(l => l.StartsWith("ARG ", StringComparison.Ordinal) && l.Contains('=', StringComparison.Ordinal))
            .Select(l => l["ARG ".Length..].Split('=', 2)).GroupBy(a => a[0]).ToDictionary(g => g.Key, g => g.First()[1]);
        var stages = Lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal))
            .Select(l => PinnedImage().Replace(l, m => arguments[m.Groups[1].Value])).ToList();

        Assert.True(stages.Count >= 2, "a multi-stage build");
        Assert.All(stages[..^1], s => Assert.StartsWith("FROM mcr.microsoft.com/dotnet/sdk:10.0.", s, StringComparison.Ordinal));
        Assert.StartsWith("FROM mcr.microsoft.com/dotnet/runtime-deps:10.0.", stages[^1], StringComparison.Ordinal);
        Assert.All(stages, s => Assert.Matches(@":10\.0\.\d+(\s|$)", s)); // a patch version, not the moving 10.0 tag
    }

    [Fact]
    public void RestoresInALayerOfItsOwn_AndKeepsBuildOutputOutOfTheContext()
    {
        var restore = Array.FindIndex(Lines, l => l.Contains("dotnet restore", StringComparison.Ordinal));
        var sources = Array.FindLastIndex(Lines, l => l.StartsWith("COPY src/ src/", StringComparison.Ordinal));
        var ignored = File.ReadAllLines(Path.Combine(Daemon.RepoRoot, ".dockerignore"));

        Assert.True(restore > 0 && sources > restore, "dotnet restore runs before the sources are copied, so a source change reuses the restore layer");
        Assert.Subset(ignored.ToHashSet(), new HashSet<string> { "**/bin", "**/obj", "artifacts", "**/node_modules", ".git" });
    }

    [Fact]
    public void PublishesWithTheCommandTheTestsUse()
    {
        var publish = Lines.Single(l => l.Contains("dotnet publish", StringComparison.Ordinal));
        var command = PublishCommand().Match(publish).Value;

        Assert.Equal("dotnet publish src/ConfigSync -c Release", command);
        Assert.Contains(command, File.ReadAllText(Path.Combine(Daemon.RepoRoot, "scripts", "test.sh")), StringComparison.Ordinal);
    }

    [Fact]
    public void RunsAsANumericNonRootUser_WithoutHealthcheck_AndTheDaemonAsEntrypoint()
    {
        var user = Lines.Last(l => l.StartsWith("USER ", StringComparison.Ordinal))["USER ".Length..].Trim();

        Assert.True(int.TryParse(user, out var uid) && uid > 0, $"USER {user} must be a numeric non-root id (runAsNonRoot checks it)");
        Assert.DoesNotContain(Lines, l => l.StartsWith("HEALTHCHECK", StringComparison.Ordinal));
        Assert.Contains(Lines, l => l.StartsWith("ENTRYPOINT", StringComparison.Ordinal) && l.Contains("\"/app/configsync\"", StringComparison.Ordinal));
    }

    [Fact]
    public void HasWhatTheSourcesNeedAtRunTime_AndLeavesPort8080ToTheApp()
    {
        var text = string.Join('\n', Lines);

        Assert.Contains("openssh-client", text, StringComparison.Ordinal); // git over ssh runs the ssh program; ssh-keygen verifies SSH signatures
        Assert.Contains("gpgv", text, StringComparison.Ordinal); // source.verify checks OpenPGP signatures with gpgv
        Assert.Contains("ca-certificates", text, StringComparison.Ordinal); // https sources
        Assert.Matches(@"ENV ASPNETCORE_HTTP_PORTS=\s", text); // the base image's 8080 cleared
    }

    [Fact]
    public void ImageAndTests_PublishForARuntime_NativeAot_WithTheMeasuredRuntimeSettings()
    {
        var text = string.Join('\n', Lines);
        Assert.Matches(@"dotnet publish src/ConfigSync -c Release -r ""\$\(cat /rid\)""", text);
        Assert.Contains("amd64) echo linux-x64", text, StringComparison.Ordinal); // the image's architecture, never a silent default
        Assert.Contains("arm64) echo linux-arm64", text, StringComparison.Ordinal);
        Assert.Matches(@"apt-get install [^\n]*\bclang\b[^\n]*\bzlib1g-dev\b", text); // NativeAOT links with them
        Assert.Matches(@"DOTNET_GCgen0size=400000\b", text); // no runtimeconfig name: the image's ENV is the only place
        // NativeAOT reads DOTNET_* values as bare hexadecimal and silently ignores one written with 0x
        // (a 0x400000 gen0 budget left a busy daemon at 129 MiB instead of 55; docs/benchmarks.md).
        foreach (System.Text.RegularExpressions.Match setting in System.Text.RegularExpressions.Regex.Matches(text, @"\b(DOTNET_\w+)=(\S*)"))
        {
            Assert.Matches("^[0-9A-Fa-f]+$", setting.Groups[2].Value);
        }

        Assert.Contains("-r \"linux-", File.ReadAllText(Path.Combine(Daemon.RepoRoot, "scripts", "test.sh")), StringComparison.Ordinal);

        // What scripts/test.sh published (the binary every integration test runs): one native executable,
        // with no IL assembly and no runtime beside it to JIT one, and libgit2 loaded from beside it.
        var published = Path.Combine(Daemon.RepoRoot, "artifacts", "configsync");
        var head = new byte[4];
        using (var binary = File.OpenRead(Path.Combine(published, "configsync")))
        {
            binary.ReadExactly(head);
        }

        Assert.Equal("\u007fELF"u8.ToArray(), head);
        Assert.False(File.Exists(Path.Combine(published, "configsync.dll")), "the published daemon carries an IL assembly: it is not NativeAOT");
        Assert.False(File.Exists(Path.Combine(published, "libcoreclr.so")), "the published daemon carries a JIT runtime: it is not NativeAOT");
        Assert.NotEmpty(Directory.GetFiles(published, "libgit2-*.so"));

        // Its memory layout (src/ConfigSync/ConfigSync.csproj, docs/benchmarks.md): linked at a fixed address
        // (ELF type EXEC, not DYN), with the type data in the file rather than packed into a ".hydrated"
        // section that is unpacked into private memory at start (10 MiB of an idle daemon's RSS).
        var (type, sections) = Elf(Path.Combine(published, "configsync"));
        Assert.Equal(2, type); // ET_EXEC
        Assert.Contains("__managedcode", sections);
        Assert.DoesNotContain(".hydrated", sections);
    }

    /// <summary>An ELF64 little-endian file's type (e_type) and its section names.</summary>
    private static (int Type, List<string> Sections) Elf(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var header = bytes.AsSpan();
        Assert.Equal(2, header[4]); // ELFCLASS64
        var type = BinaryPrimitives.ReadUInt16LittleEndian(header[16..]);
        var sectionTable = (int)BinaryPrimitives.ReadUInt64LittleEndian(header[0x28..]);
        var entrySize = BinaryPrimitives.ReadUInt16LittleEndian(header[0x3A..]);
        var count = BinaryPrimitives.ReadUInt16LittleEndian(header[0x3C..]);
        var namesIndex = BinaryPrimitives.ReadUInt16LittleEndian(header[0x3E..]);
        var namesOffset = (int)BinaryPrimitives.ReadUInt64LittleEndian(header[(sectionTable + (namesIndex * entrySize) + 0x18)..]);
        var sections = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var name = namesOffset + (int)BinaryPrimitives.ReadUInt32LittleEndian(header[(sectionTable + (i * entrySize))..]);
            sections.Add(System.Text.Encoding.ASCII.GetString(header[name..(name + header[name..].IndexOf((byte)0))]));
        }

        return (type, sections);
    }

    [GeneratedRegex(@"\$\{(\w+)\}")]
    private static partial Regex PinnedImage();

    [GeneratedRegex(@"dotnet publish \S+ -c Release")]
    private static partial Regex PublishCommand();
}
