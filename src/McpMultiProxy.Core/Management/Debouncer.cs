namespace McpMultiProxy.Management;

/// <summary>
/// Runs an action once things have been quiet for <c>delay</c>: every <see cref="Trigger"/> restarts the wait.
/// Runs never overlap; a trigger during a run schedules one more run after it. The clock is injected.
/// </summary>
internal sealed class Debouncer : IDisposable
{
    private readonly TimeSpan _delay;
    private readonly Func<Task> _action;
    private readonly ITimer _timer;
    private readonly SemaphoreSlim _running = new(1, 1);
    private int _disposed;

    public Debouncer(TimeSpan delay, TimeProvider time, Func<Task> action)
    {
        _delay = delay;
        _action = action;
        _timer = time.CreateTimer(_ => _ = RunAsync(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Completes after each run (for tests and for a caller that wants to wait for the effect).</summary>
    public event Action? Ran;

    /// <summary>Something changed: run the action after the delay, unless something changes again first.</summary>
    public void Trigger()
    {
        if (Volatile.Read(ref _disposed) == 0)
        {
            _timer.Change(_delay, Timeout.InfiniteTimeSpan);
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _timer.Dispose();
        }
    }

    private async Task RunAsync()
    {
        await _running.WaitAsync().ConfigureAwait(false);
        try
        {
            if (Volatile.Read(ref _disposed) == 0)
            {
                await _action().ConfigureAwait(false);
            }
        }
        finally
        {
            _running.Release();
        }

        Ran?.Invoke();
    }
}
