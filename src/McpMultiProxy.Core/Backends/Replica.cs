using McpMultiProxy.Configuration;
using McpMultiProxy.Health;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;

namespace McpMultiProxy.Backends;

/// <summary>
/// One endpoint of a backend, kept connected: connects, watches the session, and reconnects with
/// exponential backoff when it fails. A crash loop is never restarted in a tight loop.
/// </summary>
public sealed partial class Replica : IAsyncDisposable
{
    /// <summary>Failed pings or timed-out calls in a row after which the session is dropped and rebuilt.</summary>
    public const int FailuresBeforeReconnect = 3;

    private readonly BackendServices _services;
    private readonly ILogger _logger;
    private readonly Backoff _backoff;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private TaskCompletionSource _reconnect = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenSource? _retryWait;
    private volatile Binding _binding;
    private BackendSession? _session;
    private Task? _loop;
    private HealthState _state = HealthState.Starting;
    private int _attempt;
    private DateTimeOffset? _nextRetryAt;
    private DateTimeOffset? _connectedAt;
    private string? _lastError;
    private DateTimeOffset? _lastErrorAt;
    private int _restarts;
    private DateTimeOffset? _lastImmediateReconnect;

    internal Replica(BackendConfig config, int index, BackendServices services, Backoff backoff)
    {
        _binding = new Binding(config, index);
        _services = services;
        _backoff = backoff;
        _logger = services.LoggerFactory.CreateLogger<Replica>();
        Stats = new BackendStats(services.TimeProvider);
    }

    /// <summary>Raised when state or lists change.</summary>
    public event Action<Replica, ListKinds>? Changed;

    /// <summary>Position in the backend's URL list (its priority under failover).</summary>
    public int Index => _binding.Index;

    /// <summary>The endpoint it connects to, as configured (may hold secrets: not for display).</summary>
    internal string Endpoint => _binding.Endpoint;

    /// <summary>Where it points (secrets redacted).</summary>
    public string Target => _binding.Config.Transport == BackendTransport.Stdio ? _binding.Config.DisplayTarget : Redaction.RedactUrl(_binding.Endpoint);

    /// <summary>Counters and response times.</summary>
    public BackendStats Stats { get; }

    /// <summary>Current state.</summary>
    public HealthState State => _state;

    /// <summary>Times the session was lost and rebuilt.</summary>
    public int Restarts => Volatile.Read(ref _restarts);

    /// <summary>The live session, or null while disconnected.</summary>
    internal BackendSession? Session => _session;

    /// <summary>The replica's lists, empty while disconnected.</summary>
    public BackendLists Lists => _session?.Lists ?? BackendLists.Empty;

    /// <summary>What the status shows about this replica now.</summary>
    public ReplicaStatus Status()
    {
        lock (_lock)
        {
            var session = _session;
            var circuit = session is not null ? CircuitState.Closed : _nextRetryAt is not null ? CircuitState.Open : _attempt > 0 ? CircuitState.HalfOpen : CircuitState.Closed;
            return new ReplicaStatus(
                Index, Target, _state, _lastError, _lastErrorAt, _attempt, _nextRetryAt, _connectedAt, _restarts,
                session?.ServerInfo?.Name, session?.ServerInfo?.Version, session?.ProtocolVersion, session?.Instructions, Stats.Snapshot())
            {
                Circuit = circuit,
            };
        }
    }

    /// <summary>The last error and when it happened: what <see cref="Status"/> shows of them, without the rest.</summary>
    internal (string? Error, DateTimeOffset? At) LastFailure
    {
        get
        {
            lock (_lock)
            {
                return (_lastError, _lastErrorAt);
            }
        }
    }

    /// <summary>Starts the connect-and-watch loop.</summary>
    public void Start() => _loop ??= Task.Run(() => RunAsync(_stop.Token));

    /// <summary>Drops the session (if any) and connects again; used when pings or calls show it is stuck.</summary>
    public void RequestReconnect(string reason)
    {
        lock (_lock)
        {
            _lastError = reason;
            _lastErrorAt = _services.TimeProvider.GetUtcNow();
            _reconnect.TrySetResult();
        }
    }

    /// <summary>
    /// Cuts a reconnect wait short (the operator asked for a health check, or fixed the server): the next attempt
    /// starts now. Returns false when the replica is not waiting.
    /// </summary>
    public bool RetryNow()
    {
        lock (_lock)
        {
            if (_retryWait is null)
            {
                return false;
            }

            _retryWait.Cancel();
            return true;
        }
    }

    /// <summary>
    /// Waits until a session other than <paramref name="stale"/> is up, or until <paramref name="timeout"/> has passed without one.
    /// </summary>
    internal async Task WaitForSessionAsync(BackendSession? stale, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var time = _services.TimeProvider;
        var started = time.GetTimestamp();
        while (true)
        {
            Task next;
            lock (_lock)
            {
                if (_session is { } current && !ReferenceEquals(current, stale))
                {
                    return;
                }

                // The stale session is still installed until the loop notices its end: wait for that end first.
                next = _session is { } installed ? installed.Completion : _connected.Task;
            }

            var left = timeout - time.GetElapsedTime(started);
            if (left <= TimeSpan.Zero)
            {
                return;
            }

            try
            {
                await next.WaitAsync(left, time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return;
            }
            catch (Exception) when (next.IsCompleted)
            {
            }

            await Task.Yield();
        }
    }

    /// <summary>Records the outcome of a call or ping and updates state; a stuck session is rebuilt.</summary>
    internal void ReportOutcome(bool failed, string? error)
    {
        lock (_lock)
        {
            // A session that is already gone has its end recorded by the reconnect loop (why it ended): a call that
            // failed with it must not overwrite that with its own wording of the same event, whichever comes last.
            if (_session is null)
            {
                return;
            }

            if (failed && error is not null)
            {
                _lastError = error;
                _lastErrorAt = _services.TimeProvider.GetUtcNow();
            }
        }

        var failures = Stats.ConsecutiveFailures;
        if (failures >= FailuresBeforeReconnect)
        {
            RequestReconnect(error ?? $"{failures} failures in a row");
            return;
        }

        SetState(failures > 0 ? HealthState.Degraded : HealthState.Healthy, ListKinds.None);
    }

    /// <summary>Swaps in a config whose connection settings are unchanged (filters, timeouts).</summary>
    internal void UpdateConfig(BackendConfig config) => _binding = _binding with { Config = config };

    /// <summary>Moves it to another position of a changed URL list; its own URL is the same, so the session stays.</summary>
    internal void Rebind(BackendConfig config, int index) => _binding = new Binding(config, index);

    /// <summary>Stops the loop and closes the session (a stdio child is stopped).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        BackendSession? session;
        lock (_lock)
        {
            session = _session;
            _session = null;
        }

        if (session is not null)
        {
            await session.DisposeAsync().ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken stop)
    {
        var time = _services.TimeProvider;
        while (!stop.IsCancellationRequested)
        {
            TaskCompletionSource reconnect;
            lock (_lock)
            {
                _reconnect = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                reconnect = _reconnect;
            }

            BackendSession session;
            var binding = _binding;
            try
            {
                using var connectTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(_services.Settings().ConnectTimeoutSeconds) + TimeSpan.FromSeconds(5), time);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop, connectTimeout.Token);
                session = await BackendSession.ConnectAsync(binding.Config, binding.Index, _services, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                await WaitBeforeRetryAsync(Describe(ex), stop).ConfigureAwait(false);
                continue;
            }

            var connectedAt = time.GetUtcNow();
            lock (_lock)
            {
                _session = session;
                _connectedAt = connectedAt;
                _nextRetryAt = null;
                _connected.TrySetResult();
            }

            Stats.ResetFailures();
            session.ListsChanged += OnListsChanged;
            LogConnected(_logger, binding.Config.Name, Target, session.ServerInfo?.Name ?? "?", session.ProtocolVersion ?? "?", session.Lists.Tools.Count);
            SetState(HealthState.Healthy, ListKinds.All);

            await Task.WhenAny(session.Completion, reconnect.Task, Task.Delay(Timeout.Infinite, stop)).ConfigureAwait(false);
            if (stop.IsCancellationRequested)
            {
                return;
            }

            var (reason, expired) = session.Completion.IsCompleted ? await DescribeEndAsync(session).ConfigureAwait(false) : (_lastError ?? "reconnect requested", false);
            session.ListsChanged -= OnListsChanged;

            // A session that stayed up long enough starts the backoff afresh; one that died young continues it.
            var now = time.GetUtcNow();
            if (now - connectedAt >= _backoff.StableAfter)
            {
                _attempt = 0;
            }

            // An HTTP server that forgot the session (it restarted) is up: initialise again at once, but only once
            // per stable period, so a server that rejects every new session still backs off.
            var immediate = expired && (_lastImmediateReconnect is not { } last || now - last >= _backoff.StableAfter);
            if (immediate)
            {
                lock (_lock)
                {
                    EndSession();
                }

                _lastImmediateReconnect = now;
                LogReinitialising(_logger, binding.Config.Name, Target);
                await session.DisposeAsync().ConfigureAwait(false);
                continue;
            }

            await WaitBeforeRetryAsync(reason, stop, ended: session).ConfigureAwait(false);
        }
    }

    /// <summary>Forgets the session that ended and counts the restart; the caller holds the lock.</summary>
    private void EndSession()
    {
        _session = null;
        _restarts++;
        _connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>
    /// Publishes the failure (unhealthy, why, when the retry is) and waits out the backoff. A session that just
    /// <paramref name="ended"/> is forgotten in the same step as the state changes, so no reader ever sees the restart
    /// counted while the state still says healthy, and it is closed only after (closing a child process takes a while).
    /// </summary>
    private async Task WaitBeforeRetryAsync(string reason, CancellationToken stop, BackendSession? ended = null)
    {
        var time = _services.TimeProvider;
        var attempt = Interlocked.Increment(ref _attempt);
        var delay = _backoff.DelayFor(attempt, Random.Shared.NextDouble());
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(stop);

        // The timer starts before the state is published, so whoever sees "unhealthy" (a test on a fake clock) can
        // count on the retry being scheduled already.
        var delayed = Task.Delay(delay, time, wait.Token);
        HealthState old;
        lock (_lock)
        {
            if (ended is not null)
            {
                EndSession();
            }

            _lastError = reason;
            _lastErrorAt = time.GetUtcNow();
            _nextRetryAt = _lastErrorAt + delay;
            _retryWait = wait;
            old = _state;
            _state = HealthState.Unhealthy;
        }

        LogFailed(_logger, _binding.Config.Name, Target, reason, attempt, delay.TotalSeconds);
        Published(old, HealthState.Unhealthy, ListKinds.All);
        if (ended is not null)
        {
            await ended.DisposeAsync().ConfigureAwait(false);
        }

        try
        {
            await delayed.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (wait.IsCancellationRequested)
        {
            // Stopped, or RetryNow: either way the wait is over.
        }
        finally
        {
            lock (_lock)
            {
                _retryWait = null;
                _nextRetryAt = null;
            }
        }
    }

    private void OnListsChanged(BackendSession session, ListKinds kinds) => Changed?.Invoke(this, kinds);

    private void SetState(HealthState state, ListKinds kinds)
    {
        HealthState old;
        lock (_lock)
        {
            old = _state;
            _state = state;
        }

        Published(old, state, kinds);
    }

    /// <summary>Logs and raises a state change that has just been made.</summary>
    private void Published(HealthState old, HealthState state, ListKinds kinds)
    {
        if (old != state)
        {
            LogStateChanged(_logger, _binding.Config.Name, Target, old.ToDisplay(), state.ToDisplay());
        }

        if (old != state || kinds != ListKinds.None)
        {
            Changed?.Invoke(this, old.IsReady() == state.IsReady() ? kinds : ListKinds.All);
        }
    }

    private static string Describe(Exception ex) => ex switch
    {
        ConfigException c => c.Message,
        OperationCanceledException => "it did not finish the MCP handshake in time",
        System.ComponentModel.Win32Exception w => $"the program could not be started: {w.Message}",
        HttpRequestException h => $"HTTP request failed: {h.Message}",
        _ when ex.InnerException is { } inner && ex.Message.Contains("see inner", StringComparison.OrdinalIgnoreCase) => Describe(inner),
        _ => ex.Message,
    };

    private static async Task<(string Reason, bool Expired)> DescribeEndAsync(BackendSession session)
    {
        try
        {
            var details = await session.Completion.ConfigureAwait(false);
            return (BackendFailures.DescribeEnd(details), BackendFailures.IsSessionExpired(details));
        }
        catch (Exception ex)
        {
            return ($"the connection failed: {ex.Message}", false);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Backend} [{Target}]: connected to {Server}, protocol {Protocol}, {Tools} tools")]
    private static partial void LogConnected(ILogger logger, string backend, string target, string server, string protocol, int tools);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Backend} [{Target}]: {Reason}; retry {Attempt} in {Seconds:0.0} s")]
    private static partial void LogFailed(ILogger logger, string backend, string target, string reason, int attempt, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Backend} [{Target}]: the server no longer knew the session (HTTP 404); initialising a new one now")]
    private static partial void LogReinitialising(ILogger logger, string backend, string target);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Backend} [{Target}]: {Old} -> {New}")]
    private static partial void LogStateChanged(ILogger logger, string backend, string target, string old, string @new);
}

/// <summary>One replica's status, as shown by <c>proxy_status</c>.</summary>
public sealed record ReplicaStatus(
    int Index,
    string Target,
    HealthState State,
    string? LastError,
    DateTimeOffset? LastErrorAt,
    int RetryAttempt,
    DateTimeOffset? NextRetryAt,
    DateTimeOffset? ConnectedAt,
    int Restarts,
    string? ServerName,
    string? ServerVersion,
    string? ProtocolVersion,
    string? Instructions,
    StatsSnapshot Stats)
{
    /// <summary>Closed: calls flow. Open: failed, waiting for the next attempt (calls fail fast). Half-open: trying again.</summary>
    public CircuitState Circuit { get; init; }
}

/// <summary>
/// A replica's circuit. Its break time is the reconnect backoff, and its probe is the reconnect itself (handshake
/// and lists), so it closes only on a backend that really answers again.
/// </summary>
public enum CircuitState
{
    /// <summary>Connected: calls flow.</summary>
    Closed,

    /// <summary>Failed; calls fail fast until the next attempt.</summary>
    Open,

    /// <summary>Trying to connect again.</summary>
    HalfOpen,
}

/// <summary>What a replica connects to: the backend's config and its position in the URL list, swapped together.</summary>
internal sealed record Binding(BackendConfig Config, int Index)
{
    public string Endpoint => Config.Transport == BackendTransport.Stdio ? Config.DisplayTarget : Config.Urls[Index];
}
