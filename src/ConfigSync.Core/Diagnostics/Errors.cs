namespace ConfigSync.Diagnostics;

/// <summary>Turns exceptions into one-line, credential-free messages for logs and <c>/status</c>.</summary>
public static class Errors
{
    /// <summary>The message of <paramref name="exception"/> and of its causes that add something, redacted.</summary>
    public static string Describe(Exception exception)
    {
        var text = exception.Message;
        for (var inner = exception.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (!text.Contains(inner.Message, StringComparison.Ordinal))
            {
                text += ": " + inner.Message;
            }
        }

        return Redact.Url(text);
    }
}
