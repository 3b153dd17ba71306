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
/// </summary>
public sealed class Backend : IAsyncDisposable
{
    private readonly BackendServices _services;
    private readonly Replica[] _replicas;
    private readonly PerClientSessions _perClient;
    private ILoadBalancer _balancer;
    private BackendConfig _config;

    internal Backend(BackendConfig config, BackendServices services, Backoff backoff)
    {
        _config = config;
        _services = services;
        _balancer = LoadBalancers.Create(config.LoadBalancing);
        _replicas = [.. Enumerable.Range(0, config.ReplicaCount).Select(i => new Replica(config, i, services, backoff))];
        _perClient = new PerClientSessions(services, () => _config);
        foreach (var replica in _replicas)
        {
            replica.Changed += (_, kinds) => Changed?.Invoke(this, kinds);
        }
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

    /// <summary>Per-client sessions open now (0 unless the backend uses them).</summary>
    public int ClientSessionCount => _perClient.Count;

    /// <summary>Effective per-call timeout.</summary>
    internal TimeSpan Timeout => TimeSpan.FromSeconds(_config.TimeoutSeconds ?? _services.Settings().CallTimeoutSeconds);

    /// <summary>Starts connecting every replica.</summary>
    public void Start()
    {
        foreach (var replica in _replicas)
        {
            replica.Start();
        }
    }

    /// <summary>Applies a config that differs only in settings that need no reconnect.</summary>
    internal void UpdateConfig(BackendConfig config)
    {
        _config = config;
        _balancer = LoadBalancers.Create(config.LoadBalancing);
        foreach (var replica in _replicas)
        {
            replica.UpdateConfig(config);
        }

        Changed?.Invoke(this, ListKinds.All);
    }

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
        var call = new CallOptions(caller, Timeout, TimeSpan.FromSeconds(Math.Max(settings.MaxCallTimeoutSeconds, Timeout.TotalSeconds)));
        List<Replica>? tried = null;
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
                    ? await _perClient.SendAsync(caller, replica.Index, s => s.SendAsync<TParams, TResult>(method, parameters, call, cancellationToken), cancellationToken).ConfigureAwait(false)
                    : await session.SendAsync<TParams, TResult>(method, parameters, call, cancellationToken).ConfigureAwait(false);
                replica.Stats.CallFinished(time.GetElapsedTime(started).TotalMilliseconds, CallOutcome.Success);
                replica.ReportOutcome(failed: false, null);
                return result;
            }
            catch (McpProtocolException)
            {
                replica.Stats.CallFinished(time.GetElapsedTime(started).TotalMilliseconds, CallOutcome.Error);
                throw;
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
                replica.ReportOutcome(failed: true, ex.Reason);
                (tried ??= []).Add(replica);
                if (!(retryable || ex.NotSent) || ReadyReplicas(tried).Count == 0)
                {
                    throw;
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

    /// <summary>Stops every replica (stdio children are stopped).</summary>
    public async ValueTask DisposeAsync()
    {
        await _perClient.DisposeAsync().ConfigureAwait(false);
        foreach (var replica in _replicas)
        {
            await replica.DisposeAsync().ConfigureAwait(false);
        }
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

    private string DescribeUnavailable()
    {
        var statuses = _replicas.Select(r => r.Status()).ToList();
        if (statuses.All(s => s.State == HealthState.Starting))
        {
            return "it is still starting; try again in a moment";
        }

        var last = statuses.Where(s => s.LastError is not null).OrderByDescending(s => s.LastErrorAt).FirstOrDefault();
        var retry = statuses.Where(s => s.NextRetryAt is not null).Min(s => s.NextRetryAt);
        var text = last?.LastError ?? "not connected";
        return retry is { } at ? $"{text} (next reconnect attempt at {at:HH:mm:ss} UTC)" : text;
    }
}

/// <summary>One replica's answer to a ping.</summary>
public sealed record PingOutcome(int Replica, bool Ok, double? Ms, string? Error);
