using System.Collections;
using System.Runtime.CompilerServices;
using System.Text;
using ConfigSync.Cli;
using ConfigSync.Configuration;
using ConfigSync.Hosting;
using Microsoft.Extensions.Configuration;

namespace ConfigSync.Tests.Cli;

/// <summary>
/// What the git-sync drop-in prints and produces, held byte for byte against a recorded file
/// (<c>GitSyncFlagsOutput.txt</c>): its help, and for each command line (flags, <c>GITSYNC_*</c> and v3
/// <c>GIT_SYNC_*</c> variables, deprecated and unsupported flags) the configuration it comes to and every
/// error it prints, the loader's errors named by flag. Set <c>CONFIGSYNC_RECORD=1</c> to record it anew.
/// </summary>
public sealed class GitSyncFlagsOutputTests
{
    // Each case: VARIABLE=value words, then the arguments; split on spaces.
    private static readonly string[] Cases =
    [
        "--help",
        "--repo=x --help",
        "--repo=x -h",
        "--repo=x -?",
        "-v 2 --help",
        "GITSYNC_REPO=x",
        "GITSYNC_REPO=x GITSYNC_ROOT=/tmp/gs-cli/root GITSYNC_PERIOD=1ms",
        "--root=/g",
        "--repo=r",
        "--period=5s",
        "--repo=https://h/r --root=/g positional",
        "--repo=https://h/r --root=/g --",
        "--repo=https://h/r --root=/g --frobnicate",
        "--repo=https://h/r --root=/g --frobnicate value",
        "--repo=https://h/r --root=/g --password secret",
        "--repo=https://h/r --root=/g --password=secret",
        "--repo=https://h/r --root=/g --sparse-checkout-file=/s",
        "--repo=https://h/r --root=/g --git-gc=off",
        "--repo=https://h/r --root=/g --stale-worktree-timeout=1s",
        "--repo=https://h/r --root=/g --git=/usr/bin/git",
        "--repo=https://h/r --root=/g --git-config=a:b",
        "--repo=https://h/r --root=/g --add-user",
        "--repo=https://h/r --root=/g --cookie-file=x",
        "--repo=https://h/r --root=/g --askpass-url=http://x",
        "--repo=https://h/r --root=/g --credential=x",
        "--repo=https://h/r --root=/g --github-base-url=x",
        "--repo=https://h/r --root=/g --github-app-private-key-file=x",
        "--repo=https://h/r --root=/g --github-app-client-id=x",
        "--repo=https://h/r --root=/g --github-app-application-id=1",
        "--repo=https://h/r --root=/g --github-app-installation-id=1",
        "--repo=https://h/r --root=/g --sync-on-signal=SIGHUP",
        "--repo=https://h/r --root=/g --http-pprof",
        "--repo=https://h/r --root=/g --webhook-backoff=1s",
        "--repo=https://h/r --root=/g --exechook-backoff=1s",
        "--repo=https://h/r --root=/g --change-permissions=0775",
        "--repo=https://h/r --root=/g --ssh",
        "--repo=https://h/r --root=/g --man",
        "--repo=https://h/r --root=/g --submodules=shallow",
        "--repo=https://h/r --root=/g --depth=many",
        "--repo=https://h/r --root=/g --max-failures=x",
        "--repo=https://h/r --root=/g --webhook-url=http://127.0.0.1:9/h --webhook-success-status=ok",
        "--repo=https://h/r --root=/g --verbose=lots",
        "--repo=https://h/r --root=/g --one-time=maybe",
        "--repo=https://h/r --root=/g --group-write=yes",
        "--repo=https://h/r --root=/g --http-metrics",
        "--repo=https://h/r --root=/g --http-metrics=false",
        "--repo=https://h/r --root=/g --username=u",
        "--repo=https://h/r --root=/g --password-file=/p",
        "--repo=https://h/r --root=/g --username=u --password-file=/p",
        "GITSYNC_PASSWORD=pw --repo=https://h/r --root=/g",
        "GITSYNC_PASSWORD=pw --repo=https://h/r --root=/g --username=u --password-file=/p",
        "GIT_SYNC_PASSWORD=pw --repo=ssh://git@h/r --root=/g --username=u",
        "--repo=https://h/r --root=/g --ssh-key-file=/a --ssh-key-file=/b",
        "--repo=https://h/r --root=/g --period",
        "--repo=https://h/r --root=/g --period=1ms",
        "--repo=https://h/r --root=/g --wait=0.01",
        "--repo=https://h/r --root=/g --wait=abc",
        "--repo=https://h/r --root=/g --sync-timeout=1ms",
        "--repo=https://h/r --root=/g --timeout=0",
        "--repo=https://h/r --root=/g --depth=-1",
        "--repo=https://h/r --root=/g --ref=a..b",
        "--repo=https://h/r --root=/g --branch=a~1",
        "--repo=https://h/r --root=/g --rev=x:y",
        "--repo=https://h/r --root=/g --submodules=sometimes",
        "--repo=https://h/r --root=/g --link=.configsync",
        "--repo=https://h/r --root=/g --dest=..",
        "--repo=https://h/r --root=/g --webhook-url=ftp://x",
        "--repo=https://h/r --root=/g --webhook-url=http://127.0.0.1:9/h --webhook-method=DELETE",
        "--repo=https://h/r --root=/g --webhook-url=http://127.0.0.1:9/h --webhook-success-status=999",
        "--repo=https://h/r --root=/g --webhook-url=http://127.0.0.1:9/h --webhook-timeout=1ms",
        "--repo=https://h/r --root=/g --exechook-command=/bin/true --exechook-timeout=1ms",
        "--repo=https://h/r --root=/g --sync-hook-command=/bin/true --exechook-timeout=1ms",
        "--repo=https://h/r --root=/g --http-bind=nonsense",
        "--repo=https://h/r --root=/g --http-bind=:99999",
        "--repo=https://h/r --root=/g --http-bind=example.com:80",
        "--repo=https://u:p@h/r --root=/g",
        "--repo=notaurl:: --root=/g",
        "--repo=ssh://git@h/r --root=/g --ssh-known-hosts=false --period=1ms",
        "--repo=git@h:r --root=/g --ssh-known-hosts-file=/k --period=1ms",
        "--repo=https://h/r --root=/g --max-sync-failures=x",
        "--repo=https://h/r --root=/g -v x",
        "--repo=https://h/r --root=/g --v=x",
        "GITSYNC_REPO=https://h/r GITSYNC_ROOT=/g GITSYNC_FROBNICATE=1",
        "GITSYNC_REPO=https://h/r GITSYNC_ROOT=/g GITSYNC_GIT_GC=off GIT_SYNC_SSH=true",
        "GITSYNC_REPO=https://h/r GITSYNC_ROOT=/g GITSYNC_DEPTH=x",
        "GIT_SYNC_REPO=https://h/r GIT_SYNC_ROOT=/g GIT_SYNC_WAIT=0.001",
        "GIT_SYNC_REPO=https://h/r GIT_SYNC_ROOT=/g GIT_SYNC_TIMEOUT=0",
        "GITSYNC_REPO=https://h/r GITSYNC_ROOT=/g GITSYNC_PERIOD=1ms GIT_SYNC_PERIOD=10s",
        "GITSYNC_REPO=https://h/r GITSYNC_ROOT=/g GITSYNC_PERIOD=1ms --period=2ms",
        "GITSYNC_REPO=https://h/r GITSYNC_ROOT=/g GITSYNC_ONE_TIME=nope",
        "GITSYNC_REPO=https://h/r GITSYNC_ROOT=/g GITSYNC_MAX_SYNC_FAILURES=x",
        "GITSYNC_REPO=https://h/r GITSYNC_ROOT=/g GITSYNC_SYNC_HOOK_COMMAND=/x GITSYNC_EXECHOOK_TIMEOUT=1ms",
        "GITSYNC_REPO=https://h/r GITSYNC_ROOT=/g GITSYNC_HTTP_METRICS=true",
        "GITSYNC_REPO=https://h/r GITSYNC_ROOT=/g GITSYNC_USERNAME=u",
        "--repo=/tmp/gs-cli/no-such-repo --root=/tmp/gs-cli/root --one-time",
        "--repo=r --root=/g --period=1ms --depth=-1 --http-bind=example.com:80",
        "--repo=https://h/r --root=/g --period=1ms --sync-timeout=1ms --webhook-url=http://127.0.0.1:9/h --webhook-timeout=1ms --webhook-method=DELETE --webhook-success-status=999 --exechook-command=/bin/true --exechook-timeout=1ms",
        "--repo=https://h/r --root=/tmp/gs-cli/root --one-time",
        "--repo=https://h/r --root=/tmp/gs-cli/root --max-failures=1 --period=100ms",
        "--repo=https://h/r --root=/g --ref=main --link=sub/live --period=30s --sync-timeout=1m --depth=0 --submodules=off --max-failures=-1 --webhook-url=http://127.0.0.1:9/h --webhook-method=PUT --webhook-success-status=-1 --webhook-timeout=2s --exechook-command=/bin/true --exechook-timeout=5s --http-bind=:8082 --http-metrics --touch-file=t --error-file=/var/err --group-write --verbose=5 --one-time",
        "--repo=git@github.com:acme/config.git --root=/g",
        "--repo=ssh://git@h/r --root=/g --ssh-key-file=/k --ssh-known-hosts=false",
        "--repo=file:///tmp/repo --root=/g",
        "--repo=/tmp/repo --root=/g --depth=3",
        "GITSYNC_PASSWORD=pw --repo=https://h/r --root=/g --username=bot",
        "--repo=https://h/r --root=/g --ref=HEAD --max-failures=5 -v 3",
        "--repo=https://h/r --root=/g --branch=release --wait=1.5 --timeout=60 --dest=live --sync-hook-command=/bin/hook --max-sync-failures=2",
        "--repo https://h/r --root /g --period 5s --one-time false",
        "--repo=https://h/r --root=/g --webhook-url=http://127.0.0.1:9/h --webhook-success-status=0 --exechook-command=/bin/true --http-bind=127.0.0.1:8082 --verbose=2",
        "GITSYNC_REPO=https://h/r GITSYNC_ROOT=/g GITSYNC_WEBHOOK_URL=http://127.0.0.1:9/h GITSYNC_GROUP_WRITE=true GITSYNC_SSH_KEY_FILE=/k GITSYNC_V=9",
    ];

    [Fact]
    public void Output_OfHelpAndEveryCase_IsTheRecordedOne()
    {
        var actual = Render();
        var path = Recorded();
        if (Environment.GetEnvironmentVariable("CONFIGSYNC_RECORD") == "1")
        {
            File.WriteAllText(path, actual);
        }

        Assert.Equal(File.ReadAllText(path), actual);
    }

    private static string Render()
    {
        var text = new StringBuilder("# help\n").Append(GitSyncFlags.Usage());
        foreach (var line in Cases)
        {
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var environment = new Hashtable();
            var variables = words.TakeWhile(w => !w.StartsWith('-') && w.Contains('=', StringComparison.Ordinal)).ToList();
            foreach (var variable in variables)
            {
                environment[variable[..variable.IndexOf('=', StringComparison.Ordinal)]] = variable[(variable.IndexOf('=', StringComparison.Ordinal) + 1)..];
            }

            string[] args = [.. words.Skip(variables.Count)];
            var translation = GitSyncFlags.Translate(args, environment);
            text.Append("\n# ").Append(line).Append('\n')
                .Append("applies: ").Append(GitSyncFlags.Applies(args, environment)).Append(", help: ").Append(translation.Help).Append(", one-time: ").Append(translation.OneTime).Append('\n');
            foreach (var error in translation.Errors)
            {
                text.Append("error: ").Append(error).Append('\n');
            }

            foreach (var (key, value) in translation.Configuration.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                text.Append(key).Append(" = ").Append(value switch { null => "(null)", "" => "(empty)", _ => value }).Append('\n');
            }

            if (!translation.Help && translation.Errors.Count == 0)
            {
                var configuration = new ConfigurationBuilder().AddInMemoryCollection(translation.Configuration).Build();
                var settings = SettingsLoader.Load(configuration, SourceCatalog.All, "/", out var errors);
                text.Append(settings is null ? string.Empty : "valid\n");
                foreach (var error in errors)
                {
                    text.Append("invalid: ").Append(GitSyncFlags.ToFlags(error)).Append('\n');
                }
            }
        }

        return text.ToString();
    }

    private static string Recorded([CallerFilePath] string source = "") => Path.Combine(Path.GetDirectoryName(source)!, "GitSyncFlagsOutput.txt");
}
