using System.Globalization;

namespace ConfigSync.Cli;

/// <summary>How the git-sync drop-in reads a flag's value, or that it refuses the flag.</summary>
internal enum GitSyncFlagKind
{
    /// <summary>Any text.</summary>
    Text,

    /// <summary>A switch: <c>--flag</c> alone is true; a value is read as Go's <c>strconv.ParseBool</c> reads it.</summary>
    Bool,

    /// <summary>A whole number.</summary>
    Int,

    /// <summary>A duration (<c>10s</c>, <c>1m30s</c>).</summary>
    Duration,

    /// <summary>A git-sync flag the drop-in does not take; <see cref="GitSyncFlag.Help"/> says why and what to use instead.</summary>
    Refused,
}

/// <summary>
/// One git-sync flag as the drop-in knows it: the row of <see cref="GitSyncFlags"/>' table its help line,
/// its reading, its default, the setting it carries and its refusal all come from.
/// </summary>
/// <param name="Name">The git-sync v4 name, without dashes; its variable is <c>GITSYNC_</c> and the name in capitals with '_' for '-'.</param>
/// <param name="Kind">How its value is read, or <see cref="GitSyncFlagKind.Refused"/>.</param>
/// <param name="Help">The help text; for a refused flag, why it is refused and what to use instead.</param>
internal sealed record GitSyncFlag(string Name, GitSyncFlagKind Kind, string Help)
{
    /// <summary>git-sync's default, as it would be written on the command line; the help shows it.
    /// Null when there is none: an absent switch is off, an absent number 0.</summary>
    public string? Default { get; init; }

    /// <summary>Words the help adds after <see cref="Default"/> (<c>: the first failure exits</c>).</summary>
    public string? DefaultNote { get; init; }

    /// <summary>
    /// The ConfigSync configuration key that carries the flag's value (for a list, the list: the flag gives its first
    /// item), so a loader error about that key is named by the flag; null when the flag's value becomes something else.
    /// </summary>
    public string? Setting { get; init; }

    /// <summary>git-sync v3 names git-sync v4 still accepts for the flag.</summary>
    public IReadOnlyList<string> V3Names { get; init; } = [];

    /// <summary>Whether the <see cref="V3Names"/> take a number of seconds (v3's <c>--wait</c>, <c>--timeout</c>) where the v4 name takes a duration.</summary>
    public bool V3InSeconds { get; init; }

    /// <summary>The setting's name in a loader error: <c>syncs[0].source.url</c> for <c>syncs:0:source:url</c>.</summary>
    public string? SettingName => Setting?.Replace("syncs:0:", "syncs[0].", StringComparison.Ordinal).Replace(':', '.');

    /// <summary>The flag's line in the usage text.</summary>
    public string HelpLine => string.Create(CultureInfo.InvariantCulture, $"  --{Name,-24} {Help}{(Default is null ? string.Empty : $" (default {Default}{DefaultNote})")}\n");

    /// <summary>Why the flag is refused, as the error says it.</summary>
    public string Refusal => $"the git-sync flag is not supported by ConfigSync: {Help}";

    /// <summary>A flag the drop-in does not take.</summary>
    public static GitSyncFlag Refused(string name, string why) => new(name, GitSyncFlagKind.Refused, why);
}
