using System.Text.RegularExpressions;
using ConfigSync.IntegrationTests.Support;

namespace ConfigSync.IntegrationTests;

/// <summary>
/// docker/Dockerfile, read as text (no Docker engine on these machines): what the chart and the
/// probes rely on. The binary it builds is the one the integration tests run: scripts/test.sh runs
/// the same publish command.
/// </summary>
public sealed partial class DockerfileTests
{
    private static readonly string[] Lines = File.ReadAllLines(Path.Combine(Daemon.RepoRoot, "docker", "Dockerfile"))
        .Where(l => !l.TrimStart().StartsWith('#'))
        .ToArray();

    [Fact]
    public void BuildsWithTheSdk_AndRunsSelfContainedOnRuntimeDeps()
    {
        var stages = Lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ToList();

        Assert.True(stages.Count >= 2, "a multi-stage build");
        Assert.StartsWith("FROM mcr.microsoft.com/dotnet/sdk:10.0", stages[0], StringComparison.Ordinal);
        Assert.StartsWith("FROM mcr.microsoft.com/dotnet/runtime-deps:10.0", stages[^1], StringComparison.Ordinal);
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
    public void ImageAndTests_PublishForARuntime_Precompiled_WithTheMeasuredRuntimeSettings()
    {
        var text = string.Join('\n', Lines);
        Assert.Matches(@"dotnet publish src/ConfigSync -c Release -r ""linux-", text);
        Assert.Matches(@"DOTNET_TieredPGO=0", text);
        Assert.Matches(@"DOTNET_GCgen0size=0x400000", text); // no runtimeconfig name: the image's ENV is the only place
        Assert.Contains("-r \"linux-", File.ReadAllText(Path.Combine(Daemon.RepoRoot, "scripts", "test.sh")), StringComparison.Ordinal);

        // What scripts/test.sh published (the binary every integration test runs): self-contained (its own
        // runtime beside it), one composite ReadyToRun image that the assemblies point to, and the
        // runtimeconfig the benchmarks chose (workstation GC, no tiered PGO).
        var published = Path.Combine(Daemon.RepoRoot, "artifacts", "configsync");
        Assert.True(File.Exists(Path.Combine(published, "libcoreclr.so")), "the published daemon is not self-contained");
        Assert.True(File.Exists(Path.Combine(published, "configsync.r2r.dll")), "no composite ReadyToRun image");
        using (var pe = new System.Reflection.PortableExecutable.PEReader(File.OpenRead(Path.Combine(published, "configsync.dll"))))
        {
            Assert.True(pe.PEHeaders.CorHeader!.Flags.HasFlag(System.Reflection.PortableExecutable.CorFlags.ILLibrary), "configsync.dll is not ReadyToRun");
        }

        using var runtimeConfig = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(published, "configsync.runtimeconfig.json")));
        var options = runtimeConfig.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");
        Assert.False(options.GetProperty("System.Runtime.TieredPGO").GetBoolean());
        Assert.False(options.GetProperty("System.GC.Server").GetBoolean());
    }

    [GeneratedRegex(@"dotnet publish \S+ -c Release")]
    private static partial Regex PublishCommand();
}
