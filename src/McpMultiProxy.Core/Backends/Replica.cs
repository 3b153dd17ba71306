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
    private BackendConfig _config;
    private BackendSession? _session;
    private Task? _loop;
    private HealthState _state = HealthState.Starting;
    private int _attempt;
    private DateTimeOffset? _nextRetryAt;
    private DateTimeOffset? _connectedAt;
    private string? _lastError;
    private DateTimeOffset? _lastErrorAt;
    private int _restarts;

    internal Replica(BackendConfig config, int index, BackendServices services, Backoff backoff)
    {
        _config = config;
        Index = index;
        _services = services;
        _backoff = backoff;
        _logger = services.LoggerFactory.CreateLogger<Replica>();
        Stats = new BackendStats(services.TimeProvider);
    }

    /// <summary>Raised when state or lists change.</summary>
    public event Action<Replica, ListKinds>? Changed;

    /// <summary>Position in the backend's URL list.</summary>
    public int Index { get; }

    /// <summary>Where it points (secrets redacted).</summary>
    public string Target => _config.Transport == BackendTransport.Stdio ? _config.DisplayTarget : Redaction.RedactUrl(_config.Urls[Index]);

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
            return new ReplicaStatus(
                Index, Target, _state, _lastError, _lastErrorAt, _attempt, _nextRetryAt, _connectedAt, _restarts,
                session?.ServerInfo?.Name, session?.ServerInfo?.Version, session?.ProtocolVersion, session?.Instructions, Stats.Snapshot());
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

    /// <summary>Records the outcome of a call or ping and updates state; a stuck session is rebuilt.</summary>
    internal void ReportOutcome(bool failed, string? error)
    {
        if (failed && error is not null)
        {
            lock (_lock)
            {
                _lastError = error;
                _lastErrorAt = _services.TimeProvider.GetUtcNow();
            }
        }

        if (_session is null)
        {
            return;
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
    internal void UpdateConfig(BackendConfig config) => _config = config;

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
            try
            {
                using var connectTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(_services.Settings().ConnectTimeoutSeconds) + TimeSpan.FromSeconds(5), time);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop, connectTimeout.Token);
                session = await BackendSession.ConnectAsync(_config, Index, _services, linked.Token).ConfigureAwait(false);
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
            }

            Stats.ResetFailures();
            session.ListsChanged += OnListsChanged;
            LogConnected(_logger, _config.Name, Target, session.ServerInfo?.Name ?? "?", session.ProtocolVersion ?? "?", session.Lists.Tools.Count);
            SetState(HealthState.Healthy, ListKinds.All);

            await Task.WhenAny(session.Completion, reconnect.Task, Task.Delay(Timeout.Infinite, stop)).ConfigureAwait(false);
            if (stop.IsCancellationRequested)
            {
                return;
            }

            var reason = session.Completion.IsCompleted ? await DescribeEndAsync(session).ConfigureAwait(false) : _lastError ?? "reconnect requested";
            lock (_lock)
            {
                _session = null;
                _restarts++;
            }

            session.ListsChanged -= OnListsChanged;
            await session.DisposeAsync().ConfigureAwait(false);

            // A session that stayed up long enough starts the backoff afresh; one that died young continues it.
            if (time.GetUtcNow() - connectedAt >= _backoff.StableAfter)
            {
                _attempt = 0;
            }

            await WaitBeforeRetryAsync(reason, stop).ConfigureAwait(false);
        }
    }

    private async Task WaitBeforeRetryAsync(string reason, CancellationToken stop)
    {
        var time = _services.TimeProvider;
        var attempt = Interlocked.Increment(ref _attempt);
        var delay = _backoff.DelayFor(attempt, Random.Shared.NextDouble());
        lock (_lock)
        {
            _lastError = reason;
            _lastErrorAt = time.GetUtcNow();
            _nextRetryAt = _lastErrorAt + delay;
        }

        LogFailed(_logger, _config.Name, Target, reason, attempt, delay.TotalSeconds);
        SetState(HealthState.Unhealthy, ListKinds.All);
        try
        {
            await Task.Delay(delay, time, stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
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

        if (old != state)
        {
            LogStateChanged(_logger, _config.Name, Target, old.ToDisplay(), state.ToDisplay());
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

    private static async Task<string> DescribeEndAsync(BackendSession session)
    {
        try
        {
            var details = await session.Completion.ConfigureAwait(false);
            return details switch
            {
                StdioClientCompletionDetails { ExitCode: { } code } => $"the process exited with code {code}",
                { Exception: { } ex } => $"the connection closed: {ex.Message}",
                _ => "the connection closed",
            };
        }
        catch (Exception ex)
        {
            return $"the connection failed: {ex.Message}";
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Backend} [{Target}]: connected to {Server}, protocol {Protocol}, {Tools} tools")]
    private static partial void LogConnected(ILogger logger, string backend, string target, string server, string protocol, int tools);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Backend} [{Target}]: {Reason}; retry {Attempt} in {Seconds:0.0} s")]
    private static partial void LogFailed(ILogger logger, string backend, string target, string reason, int attempt, double seconds);

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
    StatsSnapshot Stats);
