using System.Threading.Channels;
using ConfigSync.Sources;

namespace ConfigSync.Tests.TestSupport;

/// <summary>Wraps a real source; each poll waits until the test opens the gate, and polls are counted.</summary>
public sealed class GatedSource(IConfigSource inner) : IConfigSource
{
    private readonly SemaphoreSlim _gate = new(0);
    private readonly Channel<int> _started = Channel.CreateUnbounded<int>();
    private int _polls;

    public int Polls => Volatile.Read(ref _polls);

    public bool Open { get; set; }

    public string Describe => inner.Describe;

    public void Release(int count = 1) => _gate.Release(count);

    /// <summary>Completes when poll number <paramref name="number"/> has started (a completion signal, not a sleep).</summary>
    public async Task WaitForPollAsync(int number)
    {
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (Polls < number)
        {
            await _started.Reader.ReadAsync(patience.Token);
        }
    }

    public async Task<SourceSnapshot?> PollAsync(PollContext context, CancellationToken cancellationToken)
    {
        _started.Writer.TryWrite(Interlocked.Increment(ref _polls));
        if (!Open)
        {
            await _gate.WaitAsync(cancellationToken);
        }

        return await inner.PollAsync(context, cancellationToken);
    }

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
