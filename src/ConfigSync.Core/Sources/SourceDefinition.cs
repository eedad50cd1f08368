namespace ConfigSync.Sources;

/// <summary>A configured source: its type, the factory that makes it, and its own validated options.</summary>
/// <param name="Type">The source type name, such as <c>dir</c> or <c>git</c>.</param>
/// <param name="Factory">The factory registered for the type.</param>
/// <param name="Options">The options the factory read.</param>
public sealed record SourceDefinition(string Type, ISourceFactory Factory, object Options);
