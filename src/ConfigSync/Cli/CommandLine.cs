using System.CommandLine;
using System.Runtime.InteropServices;
using ConfigSync.Configuration;
using ConfigSync.Hosting;
using ConfigSync.Sync;
using Microsoft.Extensions.Logging;

namespace ConfigSync.Cli;

/// <summary>The <c>configsync</c> command line: run, once, dev, validate, publish, status; and git-sync's flags (<see cref="GitSyncFlags"/>).</summary>
internal static class CommandLine
{
    public static async Task<int> InvokeAsync(string[] args)
    {
        var environment = Environment.GetEnvironmentVariables();
        if (GitSyncFlags.Applies(args, environment))
        {
            return await GitSyncAsync(GitSyncFlags.Translate(args, environment));
        }

        var root = new RootCommand("ConfigSync: pulls config and secrets from a source, publishes them atomically to a shared volume, and signals the app. Started with git-sync v4 flags (configsync --repo=URL --root=DIR ...) or GITSYNC_* variables, it is a git-sync drop-in (configsync --repo=x --help lists its flags).");
        root.Subcommands.Add(Run());
        root.Subcommands.Add(Once());
        root.Subcommands.Add(Dev());
        root.Subcommands.Add(Validate());
        root.Subcommands.Add(Publish());
        root.Subcommands.Add(StatusCommand.Create());

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
            {
                await Console.Error.WriteLineAsync($"configsync: {error.Message}");
            }

            await Console.Error.WriteLineAsync("Run 'configsync --help' for usage.");
            return ExitCodes.BadConfiguration;
        }

        // The daemon handles SIGTERM itself (graceful stop); the command line library must not cut it short.
        return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }

    private static Command Run()
    {
        var command = new Command("run", "Run the daemon: sync every interval, serve health, readiness, metrics and status. A configuration whose syncs all have 'publish' runs the publisher instead (as 'configsync publish --watch').");
        var flags = new SyncFlags();
        flags.AddTo(command);
        command.SetAction(async (result, cancellationToken) =>
        {
            // A publisher Deployment runs the same command as every sidecar; one configuration has one role.
            var settings = Load(flags, result, publishing: null);
            return settings is null ? ExitCodes.BadConfiguration
                : settings.Syncs.Any(s => s.Publish is not null) ? await PublishCommand.RunAsync(settings, watch: true)
                : await DaemonHost.RunAsync(settings, cancellationToken);
        });
        return command;
    }

    private static Command Once()
    {
        var command = new Command("once", "Sync every sync once (and signal the app unless --no-signal), then exit: 0 on success, 1 if a sync failed.");
        var flags = new SyncFlags();
        flags.AddTo(command);
        var noSignal = new Option<bool>("--no-signal") { Description = "Do not signal the app." };
        command.Options.Add(noSignal);
        command.SetAction(async (result, _) =>
        {
            var settings = Load(flags, result);
            return settings is null ? ExitCodes.BadConfiguration : await OnceAsync(settings, !result.GetValue(noSignal));
        });
        return command;
    }

    private static Command Dev()
    {
        var command = new Command("dev", "Sync into a local folder with a live console view (plain lines when stdout is not a terminal); Ctrl+C stops. No HTTP unless --listen; a dir source is watched.");
        var flags = new SyncFlags();
        flags.AddTo(command);
        var plain = new Option<bool>("--plain") { Description = "Plain lines even on a terminal." };
        command.Options.Add(plain);
        command.SetAction(async (result, cancellationToken) =>
        {
            var settings = Load(flags, result, configuration =>
            {
                configuration.TryAdd("http:listen", HttpSettings.Off);
                if (configuration.TryGetValue("syncs:0:source:type", out var type) && type == "dir")
                {
                    configuration.TryAdd("syncs:0:source:watch", "true");
                }
            });
            // A developer's own folder: SOPS files are decrypted into it even on disk (the README says so).
            settings = settings is null ? null : settings with
            {
                Syncs = [.. settings.Syncs.Select(s => s.Decrypt is { } d ? s with { Decrypt = d with { AllowDiskTarget = true } } : s)],
            };
            return settings is null
                ? ExitCodes.BadConfiguration
                : await ConfigSync.Dev.DevConsole.RunAsync(settings, result.GetValue(plain) || Console.IsOutputRedirected, cancellationToken);
        });
        return command;
    }

    private static Command Publish()
    {
        var command = new Command("publish", "Write each sync's source into the bucket or container its 'publish' names, the index object last (for a fleet reading with source.index); objects the new index drops are deleted after publish.gracePeriod. Exit 0 when every sync published, 1 when one failed.");
        var flags = new SyncFlags();
        flags.AddTo(command);
        var watch = new Option<bool>("--watch") { Description = "Keep publishing at each sync's interval (a Deployment) instead of once (a CI job)." };
        command.Options.Add(watch);
        command.SetAction(async (result, _) =>
        {
            var settings = Load(flags, result, publishing: true);
            return settings is null ? ExitCodes.BadConfiguration : await PublishCommand.RunAsync(settings, result.GetValue(watch));
        });
        return command;
    }

    private static Command Validate()
    {
        var command = new Command("validate", "Check the configuration, print every problem, exit 0 when valid and 2 when not.");
        var flags = new SyncFlags();
        flags.AddTo(command);
        command.SetAction(async (result, cancellationToken) =>
        {
            var settings = Load(flags, result, publishing: null);
            if (settings is null)
            {
                return ExitCodes.BadConfiguration;
            }

            // The keys of decrypt settings exist and parse (nothing of them is printed).
            var keyProblems = new List<string>();
            foreach (var sync in settings.Syncs)
            {
                keyProblems.AddRange(await ConfigSync.Decryption.DecryptionKeyCheck.ProblemsAsync(sync, cancellationToken));
            }

            if (keyProblems.Count > 0)
            {
                Report(keyProblems, "configuration");
                return ExitCodes.BadConfiguration;
            }

            Console.WriteLine($"configuration is valid: {settings.Syncs.Count} sync(s): {string.Join(", ", settings.Syncs.Select(s => $"{s.Name} ({s.Source.Type} -> {(s.Publish is { } p ? $"{p.Type} index {p.Index}" : s.Target.Root)})"))}");
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>The git-sync drop-in: git-sync's flags, ConfigSync's engine (see <see cref="GitSyncFlags"/>).</summary>
    private static async Task<int> GitSyncAsync(GitSyncTranslation translation)
    {
        if (translation.Help)
        {
            Console.Write(GitSyncFlags.Usage());
            return ExitCodes.Success;
        }

        if (translation.Errors.Count > 0)
        {
            Report(translation.Errors, "git-sync flags");
            return ExitCodes.BadConfiguration;
        }

        var settings = new ConfigurationInput { Flags = translation.Configuration }.Load(out var errors);
        if (settings is null)
        {
            Report([.. errors.Select(GitSyncFlags.ToFlags)], "git-sync flags");
            return ExitCodes.BadConfiguration;
        }

        return translation.OneTime
            ? await OnceAsync(settings, signal: true)
            : await DaemonHost.RunAsync(settings, CancellationToken.None, new HostExtras { RootAnswersReadiness = true });
    }

    /// <summary>
    /// Loads the settings. One configuration has one role: every sync publishes into a store (a publisher: <c>publish</c>,
    /// or <c>run</c>) or none does (syncs that write volumes). <paramref name="publishing"/> true or false asks for that
    /// role, null takes either. Null after reporting problems.
    /// </summary>
    private static DaemonSettings? Load(SyncFlags flags, ParseResult result, Action<Dictionary<string, string?>>? adjust = null, bool? publishing = false)
    {
        var configuration = flags.ToConfiguration(result);
        adjust?.Invoke(configuration);
        var input = new ConfigurationInput { ConfigFile = result.GetValue(flags.Config), Flags = configuration };
        var settings = input.Load(out var errors);
        if (settings is not null && RoleProblem(settings, publishing) is { } problem)
        {
            errors = [problem];
            settings = null;
        }

        if (settings is null)
        {
            Report(errors, "configuration");
        }

        return settings;
    }

    /// <summary>Why the syncs do not have the one role asked for (see <see cref="Load"/>), or null.</summary>
    private static string? RoleProblem(DaemonSettings settings, bool? publishing)
    {
        var publishers = settings.Syncs.Where(s => s.Publish is not null).Select(s => s.Name).ToList();
        var volumes = settings.Syncs.Where(s => s.Publish is null).Select(s => s.Name).ToList();
        return (publishing, publishers.Count, volumes.Count) switch
        {
            (true, _, > 0) => $"syncs {string.Join(", ", volumes)}: no 'publish' (the bucket or container to publish into); 'configsync publish' runs only syncs that publish",
            (false, > 0, _) => $"syncs {string.Join(", ", publishers)}: 'publish' writes into a store, and this command writes volumes; run a publisher with 'configsync publish' or 'configsync run'",
            (null, > 0, > 0) => $"syncs {string.Join(", ", publishers)} publish into a store and syncs {string.Join(", ", volumes)} write a volume: one configuration has one role (a publisher, or syncs that write volumes); put them in two files, each run by its own process",
            _ => null,
        };
    }

    private static void Report(IReadOnlyList<string> errors, string what)
    {
        Console.Error.WriteLine($"configsync: invalid {what} ({errors.Count} problem{(errors.Count == 1 ? string.Empty : "s")}):");
        foreach (var error in errors)
        {
            Console.Error.WriteLine($"  - {error}");
        }
    }

    private static async Task<int> OnceAsync(DaemonSettings settings, bool signal)
    {
        using var stop = new CancellationTokenSource();
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        using var loggerFactory = LoggerFactory.Create(b => Logging.Configure(b, settings.Log));
        await using var engine = new SyncEngine(settings, new Diagnostics.SyncMetrics(), loggerFactory, TimeProvider.System);
        try
        {
            engine.Initialize(signal);
            var failures = await engine.SyncOnceAsync(stop.Token);
            foreach (var failure in failures)
            {
                await Console.Error.WriteLineAsync($"configsync: {failure}");
            }

            return failures.Count == 0 ? ExitCodes.Success : ExitCodes.SyncFailed;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("configsync: stopped before the sync finished");
            return ExitCodes.SyncFailed;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Publishing.PublishException)
        {
            await Console.Error.WriteLineAsync($"configsync: {Diagnostics.Errors.Describe(e)}");
            return ExitCodes.SyncFailed;
        }
    }
}
