namespace ConfigSync.Publishing;

/// <summary>A tree was refused (bad entry, limit exceeded, unusable target); the live tree is untouched.</summary>
public sealed class PublishException : Exception
{
    /// <summary>Creates the exception.</summary>
    public PublishException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public PublishException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public PublishException()
    {
    }
}
