namespace ConfigSync.Configuration;

/// <summary>Decryption of selected files at publish time (<c>decrypt:</c> of a sync).</summary>
public sealed record DecryptSettings
{
    /// <summary>SOPS files and the keys that open them.</summary>
    public required SopsSettings Sops { get; init; }

    /// <summary>
    /// Whether decrypted files may be written to a target on a disk file system. <value>The default value is false:
    /// only a memory-backed target (tmpfs, an emptyDir with medium Memory) takes plaintext.</value>
    /// </summary>
    public bool AllowDiskTarget { get; init; }
}

/// <summary>Where SOPS keys are and which files may be SOPS files.</summary>
public sealed record SopsSettings
{
    /// <summary>The default <see cref="Files"/>: every file (one without SOPS metadata is published as it is).</summary>
    internal static readonly IReadOnlyList<string> DefaultFiles = ["**"];

    /// <summary>An age key file (AGE-SECRET-KEY-1... lines), absolute, or null.</summary>
    public string? AgeKeyFile { get; init; }

    /// <summary>A file of exported OpenPGP secret keys, imported into a keyring of the daemon's own, or null.</summary>
    public string? GpgKeysFile { get; init; }

    /// <summary>An existing GnuPG home to use as it is, or null.</summary>
    public string? GpgHome { get; init; }

    /// <summary>Glob patterns of the files checked for SOPS metadata. <value>The default value is every file.</value></summary>
    public IReadOnlyList<string> Files { get; init; } = DefaultFiles;
}
