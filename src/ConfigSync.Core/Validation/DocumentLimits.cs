namespace ConfigSync.Validation;

/// <summary>
/// The bounds every JSON and YAML document ConfigSync parses is held to (files of the tree checked by
/// <c>validate</c>, JSON Schemas, the config file), so hostile input is refused with a named message
/// instead of overflowing the stack or exhausting memory.
/// </summary>
internal static class DocumentLimits
{
    /// <summary>How deeply arrays and objects (YAML sequences and mappings) may nest, aliases expanded.</summary>
    /// <value>64, System.Text.Json's default <c>MaxDepth</c>, so JSON and YAML share one limit.</value>
    public const int MaxDepth = 64;

    /// <summary>How many nodes a file of the tree may expand to through YAML aliases.</summary>
    /// <value>1,000,000.</value>
    public const long MaxTreeNodes = 1_000_000;

    /// <summary>How many nodes the config file may expand to through YAML aliases.</summary>
    /// <value>100,000.</value>
    public const long MaxConfigNodes = 100_000;

    /// <summary>The largest config file read.</summary>
    /// <value>1 MiB.</value>
    public const long MaxConfigBytes = 1 << 20;
}
