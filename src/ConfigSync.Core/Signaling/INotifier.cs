namespace ConfigSync.Signaling;

/// <summary>One way of telling the app about a new tree (HTTP request, command).</summary>
internal interface INotifier
{
    /// <summary>A short name for logs and metrics.</summary>
    string Describe { get; }

    /// <summary>Delivers once; throws when the app did not accept it.</summary>
    Task NotifyAsync(SignalPayload payload, CancellationToken cancellationToken);
}

/// <summary>The app did not accept a signal.</summary>
internal sealed class SignalException(string message) : Exception(message);
