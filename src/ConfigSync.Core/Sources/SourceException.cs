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
}
