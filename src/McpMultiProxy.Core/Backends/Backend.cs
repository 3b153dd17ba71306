using McpMultiProxy.Backends.LoadBalancing;
using McpMultiProxy.Configuration;
using McpMultiProxy.Health;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpMultiProxy.Backends;

/// <summary>
/// A live, enabled backend: its replicas, kept connected, and the policy that spreads calls over them.
/// A call that failed before reaching a replica, or that may safely run twice, is retried on another one.
/// When it stops serving, its last lists stay in the catalog for a grace period, so a blip does not churn
/// the clients' tool lists.
/// </summary>
public sealed partial class Backend : IAsyncDisposable
{
    private readonly BackendServices _services;
    private readonly Backoff _backoff;
    private readonly PerClientSessions _perClient;
    private readonly Lock _graceLock = new();
    private volatile Replica[] _replicas;
    private ILoadBalancer _balancer;
    private BackendConfig _config;
    private BackendLists? _served;
    private DateTimeOffset? _withdrawAt;
    private ITimer? _graceTimer;
    private bool _started;
    private HealthState _servedState = HealthState.Starting;

    internal Backend(BackendConfig config, BackendServices services, Backoff backoff)
    {
        _config = config;
        _services = services;
        _backoff = backoff;
        _balancer = LoadBalancers.Create(config.LoadBalancing);
        _replicas = [.. Enumerable.Range(0, config.ReplicaCount).Select(NewReplica)];
        _perClient = new PerClientSessions(services, () => _config);
    }

    /// <summary>Raised when any replica's state or lists change.</summary>
    public event Action<Backend, ListKinds>? Changed;

    /// <summary>The backend's name.</summary>
    public string Name => _config.Name;

    /// <summary>Its current config.</summary>
    public BackendConfig Config => _config;

    /// <summary>Its replicas (one unless several URLs are configured).</summary>
    public IReadOnlyList<Replica> Replicas => _replicas;

    /// <summary>Healthy when every replica is; degraded when some serve; unhealthy when none does; starting until the first try ends.</summary>
    public HealthState State
    {
        get
        {
            int healthy = 0, ready = 0, starting = 0;
            foreach (var r in _replicas)
            {
                var s = r.State;
                healthy += s == HealthState.Healthy ? 1 : 0;
                ready += s.IsReady() ? 1 : 0;
                starting += s == HealthState.Starting ? 1 : 0;
            }

            return healthy == _replicas.Length ? HealthState.Healthy
                : ready > 0 ? HealthState.Degraded
                : starting > 0 ? HealthState.Starting
                : HealthState.Unhealthy;
        }
    }

    /// <summary>The lists served for this backend: those of its first ready replica.</summary>
    public BackendLists Lists => _replicas.FirstOrDefault(r => r.State.IsReady())?.Lists ?? BackendLists.Empty;

    /// <summary>
    /// Its state, and what the catalog serves for it, read together: the live lists while a replica is ready; the
    /// last ones during the withdraw grace after it stopped serving; null once withdrawn (or before it ever served).
    /// </summary>
    internal (HealthState State, BackendLists? Lists) CatalogView
    {
        get
        {
            lock (_graceLock)
            {
                var state = State;
                return (state, state.IsReady() ? Lists : _served);
            }
        }
    }

    /// <summary>
    /// The state status reports. Ready (healthy, degraded) only as of the catalog in force, so that a client that
    /// reads "healthy" finds the backend's tools already listed (the live <see cref="State"/> flips a moment before
    /// the catalog is rebuilt). Not ready (unhealthy, starting) at once: a failure is news that must not wait for the
    /// catalog, and the restart and error reported beside it are live.
    /// </summary>
    public HealthState ServedState
    {
        get
        {
            var live = State;
            return live.IsReady() ? _servedState : live;
        }

        internal set => _servedState = value;
    }

    /// <summary>When its tools will be withdrawn unless it recovers first; null unless in the grace period.</summary>
    public DateTimeOffset? WithdrawAt
    {
        get
        {
            lock (_graceLock)
            {
                return _withdrawAt;
            }
        }
    }

    /// <summary>Per-client sessions open now (0 unless the backend uses them).</summary>
    public int ClientSessionCount => _perClient.Count;

    /// <summary>Effective per-call timeout.</summary>
    internal TimeSpan Timeout => TimeSpan.FromSeconds(_config.TimeoutSeconds ?? _services.Settings().CallTimeoutSeconds);

    /// <summary>Starts connecting every replica.</summary>
    public void Start()
    {
        _started = true;
        foreach (var replica in _replicas)
        {
            replica.Start();
        }
    }

    /// <summary>True when <paramref name="config"/> can be applied in place: same connection, or only the URL list changed.</summary>
    internal bool CanUpdateTo(BackendConfig config) =>
        config.SameConnectionAs(_config)
        || (config.Transport != BackendTransport.Stdio && (config with { Urls = _config.Urls }).SameConnectionAs(_config));

    /// <summary>
    /// Applies a config that <see cref="CanUpdateTo"/> allows. Replicas whose URL stays keep their sessions (even
    /// at another position); new URLs get new replicas; the replicas of URLs that went are returned, to be stopped.
    /// </summary>
    internal IReadOnlyList<Replica> UpdateConfig(BackendConfig config)
    {
        var old = _replicas;
        var kept = new List<Replica>(config.ReplicaCount);
        var started = new List<Replica>();
        var remaining = old.ToList();
        for (var i = 0; i < config.ReplicaCount; i++)
        {
            var url = config.Transport == BackendTransport.Stdio ? null : config.Urls[i];
            var same = remaining.FirstOrDefault(r => url is null || r.Endpoint == url);
            if (same is not null)
            {
                remaining.Remove(same);
                same.Rebind(config, i);
                kept.Add(same);
            }
            else
            {
                var replica = NewReplica(i);
                replica.UpdateConfig(config);
                kept.Add(replica);
                started.Add(replica);
            }
        }

        _config = config;
        _balancer = LoadBalancers.Create(config.LoadBalancing);
        _replicas = [.. kept];
        foreach (var replica in remaining)
        {
            replica.Changed -= OnReplicaChanged;
        }

        if (_started)
        {
            foreach (var replica in started)
            {
                replica.Start();
            }
        }

        OnReplicaChanged(null, ListKinds.All);
        return remaining;
    }

    /// <summary>
    /// Sends on the caller's own session with a replica. Kept apart from <see cref="SendAsync{TParams, TResult}"/>
    /// so the lambda's captured state is allocated only for this path, not on every forwarded request.
    /// </summary>
    private Task<TResult> SendPerClientAsync<TParams, TResult>(McpServer caller, int replica, string method, TParams parameters, CallOptions call, CancellationToken cancellationToken)
        where TParams : RequestParams
        where TResult : notnull
        => _perClient.SendAsync(caller, replica, s => s.SendAsync<TParams, TResult>(method, parameters, call, cancellationToken), cancellationToken);

    /// <summary>
    /// Forwards a request. <paramref name="retryable"/> says the request may run twice (read-only or idempotent),
    /// so it may be retried on another replica even when the first one might have run it.
    /// </summary>
    public async Task<TResult> SendAsync<TParams, TResult>(string method, TParams parameters, McpServer? caller, bool retryable, CancellationToken cancellationToken)
        where TParams : RequestParams
        where TResult : notnull
    {
        var time = _services.TimeProvider;
        var settings = _services.Settings();
        using var lease = _services.Calls.Enter(Name);
        var call = new CallOptions(caller, Timeout, TimeSpan.FromSeconds(Math.Max(settings.MaxCallTimeoutSeconds, Timeout.TotalSeconds)), _services.Calls.Cancelled);
        List<Replica>? tried = null;
        var reinitialised = false;
        while (true)
        {
            var ready = ReadyReplicas(tried);
            var replica = _balancer.Pick(ready);
            var session = replica?.Session;
            if (replica is null || session is null)
            {
                throw new BackendUnavailableException(Name, DescribeUnavailable());
            }

            var started = time.GetTimestamp();
            replica.Stats.CallStarted();
            try
            {
                var result = _config.PerClientSessions && caller is not null
                    ? await SendPerClientAsync<TParams, TResult>(caller, replica.Index, method, parameters, call, cancellationToken).ConfigureAwait(false)
                    : await session.SendAsync<TParams, TResult>(method, parameters, call, cancellationToken).ConfigureAwait(false);
                replica.Stats.CallFinished(time.GetElapsedTime(started).TotalMilliseconds, CallOutcome.Success);
                replica.ReportOutcome(failed: false, null);
                return result;
            }
            catch (BackendUnavailableException ex) when (ex.SessionExpired && !reinitialised)
            {
                // The server restarted and forgot the session; it did not run the request. Once its replica has
                // initialised a new session (at once, see Replica), send it again: transparent to the caller.
                replica.Stats.CallFinished(time.GetElapsedTime(started).TotalMilliseconds, CallOutcome.Failure);
                reinitialised = true;
                await replica.WaitForSessionAsync(session, TimeSpan.FromSeconds(settings.ConnectTimeoutSeconds), cancellationToken).ConfigureAwait(false);
            }
            catch (McpProtocolException)
            {
                replica.Stats.CallFinished(time.GetElapsedTime(started).TotalMilliseconds, CallOutcome.Error);
                throw;
            }
            catch (BackendTimeoutException) when (_services.Calls.Cancelled.IsCancellationRequested)
            {
                replica.Stats.CallFinished(time.GetElapsedTime(started).TotalMilliseconds, CallOutcome.Failure);
                throw new BackendUnavailableException(Name, "the proxy is shutting down and the call did not finish in time; it was cancelled");
            }
            catch (BackendTimeoutException ex)
            {
                replica.Stats.CallFinished(time.GetElapsedTime(started).TotalMilliseconds, CallOutcome.Timeout);
                replica.ReportOutcome(failed: true, ex.Message);
                throw;
            }
            catch (BackendUnavailableException ex)
            {
                replica.Stats.CallFinished(time.GetElapsedTime(started).TotalMilliseconds, CallOutcome.Failure);
                if (BackendFailures.IsConnectionRefused(ex))
                {
                    // Nobody listens there any more: no need to wait for three failures to take it out.
                    replica.RequestReconnect(ex.Reason);
                }
                else
                {
                    replica.ReportOutcome(failed: true, ex.Reason);
                }

                (tried ??= []).Add(replica);
                if (ReadyReplicas(tried).Count == 0)
                {
                    throw;
                }

                if (!(retryable || ex.NotSent))
                {
                    // Another replica could take it, but the request may have run on this one: say why it was not.
                    throw new BackendUnavailableException(
                        Name,
                        $"{ex.Reason} (replica {replica.Target}); the request may have run there, so it was not retried on another replica. " +
                        "Only tools marked readOnlyHint or idempotentHint are retried after that.",
                        ex);
                }
            }
            catch (OperationCanceledException)
            {
                replica.Stats.CallFinished(time.GetElapsedTime(started).TotalMilliseconds, CallOutcome.Success);
                throw;
            }
        }
    }

    /// <summary>Pings every connected replica once; returns each replica's outcome.</summary>
    public async Task<IReadOnlyList<PingOutcome>> PingAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var time = _services.TimeProvider;
        var tasks = _replicas.Select(async replica =>
        {
            var session = replica.Session;
            if (session is null)
            {
                return new PingOutcome(replica.Index, false, null, replica.Status().LastError ?? "not connected");
            }

            var started = time.GetTimestamp();
            try
            {
                await session.PingAsync(timeout, cancellationToken).ConfigureAwait(false);
                var ms = time.GetElapsedTime(started).TotalMilliseconds;
                replica.Stats.PingFinished(ms, failed: false);
                replica.ReportOutcome(failed: false, null);
                return new PingOutcome(replica.Index, true, ms, null);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                var reason = ex is BackendTimeoutException ? $"ping not answered within {timeout.TotalSeconds:0.#} s" : $"ping failed: {ex.Message}";
                replica.Stats.PingFinished(0, failed: true);
                replica.ReportOutcome(failed: true, reason);
                return new PingOutcome(replica.Index, false, null, reason);
            }
        });
        return await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    /// <summary>Stops every replica, in parallel (stdio children are stopped).</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_graceLock)
        {
            _graceTimer?.Dispose();
            _graceTimer = null;
        }

        await _perClient.DisposeAsync().ConfigureAwait(false);
        await Task.WhenAll(_replicas.Select(r => r.DisposeAsync().AsTask())).ConfigureAwait(false);
    }

    private Replica NewReplica(int index)
    {
        var replica = new Replica(_config, index, _services, _backoff);
        replica.Changed += OnReplicaChanged;
        return replica;
    }

    private void OnReplicaChanged(Replica? replica, ListKinds kinds)
    {
        lock (_graceLock)
        {
            if (State.IsReady())
            {
                _served = Lists;
                _withdrawAt = null;
                _graceTimer?.Dispose();
                _graceTimer = null;
            }
            else if (_served is not null && _withdrawAt is null)
            {
                // It served until now: keep its lists for the grace period, then withdraw them.
                var grace = TimeSpan.FromSeconds(_services.Settings().WithdrawGraceSeconds);
                if (grace > TimeSpan.Zero)
                {
                    _withdrawAt = _services.TimeProvider.GetUtcNow() + grace;
                    _graceTimer = _services.TimeProvider.CreateTimer(_ => OnGraceOver(), null, grace, System.Threading.Timeout.InfiniteTimeSpan);
                }
                else
                {
                    _served = null;
                }
            }
        }

        Changed?.Invoke(this, kinds);
    }

    private void OnGraceOver()
    {
        lock (_graceLock)
        {
            if (_withdrawAt is null || State.IsReady())
            {
                return;
            }

            _served = null;
            _withdrawAt = null;
            _graceTimer?.Dispose();
            _graceTimer = null;
        }

        Changed?.Invoke(this, ListKinds.All);
    }

    private IReadOnlyList<Replica> ReadyReplicas(List<Replica>? exclude)
    {
        // Hot path: nothing excluded and every replica ready (the usual case) needs no list per call.
        if (exclude is null && Array.TrueForAll(_replicas, r => r.State.IsReady() && r.Session is not null))
        {
            return _replicas;
        }

        var ready = new List<Replica>(_replicas.Length);
        foreach (var r in _replicas)
        {
            if (r.State.IsReady() && r.Session is not null && (exclude is null || !exclude.Contains(r)))
            {
                ready.Add(r);
            }
        }

        return ready;
    }

    /// <summary>Why no replica can take a call now: still starting, or the last error and the next reconnect.</summary>
    internal string DescribeUnavailable()
    {
        var statuses = _replicas.Select(r => r.Status()).ToList();
        if (statuses.All(s => s.State == HealthState.Starting))
        {
            return "it is still starting; try again in a moment";
        }

        if (statuses.All(s => s.State.IsReady()))
        {
            return "every replica failed this call";
        }

        var last = statuses.Where(s => s.LastError is not null).OrderByDescending(s => s.LastErrorAt).FirstOrDefault();
        var retry = statuses.Where(s => s.NextRetryAt is not null).Min(s => s.NextRetryAt);
        var text = last?.LastError ?? "not connected";
        return retry is { } at ? $"{text} (next reconnect attempt at {at:HH:mm:ss} UTC)" : text;
    }
}

/// <summary>One replica's answer to a ping.</summary>
public sealed record PingOutcome(int Replica, bool Ok, double? Ms, string? Error);
