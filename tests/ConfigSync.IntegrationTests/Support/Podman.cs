using System.Diagnostics;
using ConfigSync.Tests.TestSupport;

namespace ConfigSync.IntegrationTests.Support;

/// <summary>
/// The container engine the image tests drive through its CLI: rootful podman with the project's
/// settings (tests/containers/containers.conf, through CONTAINERS_CONF). Every container and pod a test creates is named with a per-instance prefix
/// and removed, with its volumes, on dispose.
/// </summary>
public sealed class Podman : IAsyncDisposable
{
    /// <summary>The image scripts/image.sh builds from docker/Dockerfile (IMAGE_UNDER_TEST overrides).</summary>
    public static string Image { get; } = Environment.GetEnvironmentVariable("IMAGE_UNDER_TEST") is { Length: > 0 } image ? image : "localhost/configsync:test";

    /// <summary>The stand-in for the examples' app images (tests/containers/app.Containerfile).</summary>
    public const string AppImage = "localhost/configsync-test-app:latest";

    /// <summary>On every container and pod the tests create; scripts/test.sh removes whatever carries it before and after a run.</summary>
    public const string Label = "configsync-test=1";

    private readonly List<string> _containers = [];
    private readonly List<string> _pods = [];

    public Podman()
    {
        Prefix = $"cs-test-{Guid.NewGuid().ToString("N")[..8]}";
    }

    /// <summary>A prefix for the names of what this instance creates.</summary>
    public string Prefix { get; }

    /// <summary>podman: the pod tests need its pods (scripts/image.sh says why not docker).</summary>
    public const string Engine = "podman";

    /// <summary>Runs the engine and returns its exit code and output (stdout then stderr).</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(IEnumerable<string> arguments, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(Engine) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["CONTAINERS_CONF"] = Path.Combine(Daemon.RepoRoot, "tests", "containers", "containers.conf");

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Engine} {string.Join(' ', start.ArgumentList)} did not finish in {timeout ?? TimeSpan.FromMinutes(2)}");
        }

        var text = await output;
        var err = await error;
        return (process.ExitCode, text.Trim(), err.Trim());
    }

    /// <summary>Runs the engine and fails the test when it fails; returns stdout.</summary>
    public static async Task<string> CheckAsync(params string[] arguments)
    {
        var (code, output, error) = await RunAsync(arguments);
        if (code != 0)
        {
            throw new InvalidOperationException($"{Engine} {string.Join(' ', arguments)} failed ({code}): {error}{output}");
        }

        return output;
    }

    /// <summary>Fails with the command that builds it when the image under test is missing.</summary>
    public static async Task RequireImageAsync(string image)
    {
        var (code, _, _) = await RunAsync(["image", "inspect", "--format", "{{.Id}}", image]);
        Assert.True(code == 0, $"image {image} is missing: scripts/test.sh builds it (bash scripts/image.sh)");
    }

    /// <summary>A name for a container or pod this instance will remove.</summary>
    public string Container(string name)
    {
        var full = $"{Prefix}-{name}";
        _containers.Add(full);
        return full;
    }

    public string Pod(string name)
    {
        var full = $"{Prefix}-{name}";
        _pods.Add(full);
        return full;
    }

    /// <summary>The container's exit code, once it exited (null while it runs).</summary>
    public static async Task<int?> ExitCodeAsync(string container)
    {
        var state = await CheckAsync("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", container);
        var parts = state.Split(' ');
        return parts[0] is "exited" or "stopped" ? int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) : null;
    }

    /// <summary>Waits for the container to exit and returns its exit code.</summary>
    public static async Task<int> WaitAsync(string container, TimeSpan timeout)
    {
        int? code = null;
        await DaemonHttp.Eventually(
            async () => (code = await ExitCodeAsync(container)) is not null,
            timeout,
            () => $"container {container} exited: {LogsAsync(container).GetAwaiter().GetResult()}",
            pollMilliseconds: 200);
        return code!.Value;
    }

    public static async Task<string> LogsAsync(string container)
    {
        var (_, output, error) = await RunAsync(["logs", container]);
        Captured.Record(output + "\n" + error); // what ConfigSync printed in the container: the secrets scan reads it
        return output + "\n" + error;
    }

    /// <summary>Removes every pod and container this instance named, each tried even when another fails (scripts/test.sh sweeps what is left).</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var arguments in _pods.Select(p => new[] { "pod", "rm", "--force", "--time", "0", p }).Concat(_containers.Select(c => new[] { "rm", "--force", "--volumes", "--time", "0", c })))
        {
            try
            {
                await RunAsync(arguments);
            }
            catch (TimeoutException)
            {
            }
        }
    }
}
