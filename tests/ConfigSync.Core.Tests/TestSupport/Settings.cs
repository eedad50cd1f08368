using ConfigSync.Configuration;
using ConfigSync.Sources;
using ConfigSync.Sources.Dir;

namespace ConfigSync.Tests.TestSupport;

public static class Settings
{
    public static SyncSettings ForDirectory(string source, string root, Func<TargetSettings, TargetSettings>? target = null, Func<SyncSettings, SyncSettings>? sync = null)
    {
        var factory = new DirectorySourceFactory();
        var settings = new SyncSettings
        {
            Name = "test",
            Source = new SourceDefinition("dir", factory, new DirectorySourceOptions { Path = source }),
            Target = target is null ? new TargetSettings { Root = root } : target(new TargetSettings { Root = root }),
            Interval = TimeSpan.FromMinutes(10),
            Jitter = 0,
        };
        return sync is null ? settings : sync(settings);
    }
}
