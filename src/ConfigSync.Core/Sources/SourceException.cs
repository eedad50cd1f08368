namespace ConfigSync.Sources;

/// <summary>A source failed in a way its message fully explains (no stack trace needed in the log).</summary>
public class SourceException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SourceException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public SourceException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public SourceException()
    {
    }

    /// <summary>The error a source throws when its listing passes limits.maxFiles (<see cref="SourceContext.MaxEntries"/>).</summary>
    public static SourceException TooManyEntries(string describe, int maxEntries) =>
        new($"{describe} lists more than limits.maxFiles ({maxEntries}) entries; listing stopped, nothing is published (raise the limit or narrow the prefix or path)");
}
