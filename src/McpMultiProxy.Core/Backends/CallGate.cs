namespace McpMultiProxy.Backends;

/// <summary>
/// Counts the requests forwarded to backends, so that a shutdown can refuse new ones, give those in flight
/// a deadline to finish, and then cancel the rest (each backend is sent <c>notifications/cancelled</c>).
/// </summary>
public sealed class CallGate : IDisposable
{
    private readonly CancellationTokenSource _cancelAll = new();
    private readonly Lock _lock = new();
    private TaskCompletionSource? _idle;
    private int _inFlight;
    private bool _closed;

    /// <summary>Requests in flight now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>True once a shutdown started: new requests are refused.</summary>
    public bool IsClosed => Volatile.Read(ref _closed);

    /// <summary>Cancelled when the shutdown deadline passed with requests still in flight.</summary>
    internal CancellationToken Cancelled => _cancelAll.Token;

    /// <summary>Admits one request to <paramref name="backend"/>, or refuses it because the proxy is stopping.</summary>
    internal Lease Enter(string backend)
    {
        lock (_lock)
        {
            if (_closed)
            {
                throw new BackendUnavailableException(backend, "the proxy is shutting down") { NotSent = true };
            }

            _inFlight++;
        }

        return new Lease(this);
    }

    /// <summary>
    /// Closes the gate, waits up to <paramref name="grace"/> for requests in flight, then cancels the rest and
    /// waits briefly for them to unwind. Returns how many finished in time and how many were cancelled.
    /// </summary>
    public async Task<(int Finished, int Cancelled)> DrainAsync(TimeSpan grace, TimeProvider time, CancellationToken cancellationToken)
    {
        Task idle;
        int atStart;
        lock (_lock)
        {
            _closed = true;
            atStart = _inFlight;
            _idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_inFlight == 0)
            {
                _idle.TrySetResult();
            }

            idle = _idle.Task;
        }

        if (await WaitAsync(idle, grace, time, cancellationToken).ConfigureAwait(false))
        {
            return (atStart, 0);
        }

        var cancelled = InFlight;
        await _cancelAll.CancelAsync().ConfigureAwait(false);

        // Cancelled calls answer their clients with an error at once; this only bounds a stuck unwind.
        await WaitAsync(idle, TimeSpan.FromSeconds(2), time, cancellationToken).ConfigureAwait(false);
        return (atStart - cancelled, cancelled);
    }

    /// <inheritdoc/>
    public void Dispose() => _cancelAll.Dispose();

    private static async Task<bool> WaitAsync(Task task, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            await task.WaitAsync(timeout, time, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private void Exit()
    {
        lock (_lock)
        {
            if (--_inFlight == 0)
            {
                _idle?.TrySetResult();
            }
        }
    }

    /// <summary>One admitted request; dispose when it is answered.</summary>
    internal readonly struct Lease(CallGate gate) : IDisposable
    {
        public void Dispose() => gate.Exit();
    }
}
