using Microsoft.Extensions.Time.Testing;

namespace ConfigSync.Tests.TestSupport;

/// <summary>
/// A fake clock that knows who is waiting on it (a delay, a timeout, a retry backoff), so a test moves time exactly
/// when something waits and exactly as far as it waits: no sleeps, no polling of conditions.
/// </summary>
public sealed class SteppedClock() : FakeTimeProvider(DateTimeOffset.UtcNow)
{
    private readonly Lock _gate = new();
    private readonly List<Wait> _waits = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var wait = new Wait(GetUtcNow() + dueTime, dueTime);
        var timer = base.CreateTimer(s => { wait.Done = true; callback(s); }, state, dueTime, period);
        if (dueTime != Timeout.InfiniteTimeSpan)
        {
            lock (_gate)
            {
                _waits.Add(wait);
                _changed.TrySetResult();
                _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        return new Tracked(timer, wait);
    }

    /// <summary>
    /// Waits until something is waiting on the clock for a time that <paramref name="match"/> accepts, then moves the
    /// clock to when that wait ends; returns how long it was.
    /// </summary>
    public async Task<TimeSpan> AdvanceWhenWaitingAsync(Func<TimeSpan, bool> match)
    {
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_waits.FirstOrDefault(w => !w.Done && match(w.Length)) is { } wait)
                {
                    _waits.RemoveAll(w => w.Done);
                    var now = GetUtcNow();
                    Advance(wait.Until > now ? wait.Until - now : TimeSpan.Zero);
                    return wait.Length;
                }

                changed = _changed.Task;
            }

            await changed.WaitAsync(patience.Token);
        }
    }

    private sealed class Wait(DateTimeOffset until, TimeSpan length)
    {
        public DateTimeOffset Until => until;

        public TimeSpan Length => length;

        public bool Done { get; set; }
    }

    /// <summary>A timer that marks its wait done when it is disposed (a cancelled delay) or moved.</summary>
    private sealed class Tracked(ITimer inner, Wait wait) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            wait.Done = true;
            return inner.Change(dueTime, period);
        }

        public void Dispose()
        {
            wait.Done = true;
            inner.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            wait.Done = true;
            return inner.DisposeAsync();
        }
    }
}
