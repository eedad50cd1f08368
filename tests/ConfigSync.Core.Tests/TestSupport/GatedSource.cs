using ConfigSync.Sources;

namespace ConfigSync.Tests.TestSupport;

/// <summary>Wraps a real source; each poll waits until the test opens the gate, and polls are counted.</summary>
public sealed class GatedSource(IConfigSource inner) : IConfigSource
{
    private readonly SemaphoreSlim _gate = new(0);
    private int _polls;

    public int Polls => Volatile.Read(ref _polls);

    public bool Open { get; set; }

    public string Describe => inner.Describe;

    public void Release(int count = 1) => _gate.Release(count);

    public async Task<SourceSnapshot?> PollAsync(PollContext context, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _polls);
        if (!Open)
        {
            await _gate.WaitAsync(cancellationToken);
        }

        return await inner.PollAsync(context, cancellationToken);
    }

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
