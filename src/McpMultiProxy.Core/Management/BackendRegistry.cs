using McpMultiProxy.Backends;
using McpMultiProxy.Catalog;
using McpMultiProxy.Configuration;
using McpMultiProxy.Health;
using Microsoft.Extensions.Logging;

namespace McpMultiProxy.Management;

/// <summary>
/// Owns the backends: the configured set (in order) and a live <see cref="Backend"/> for each enabled one.
/// Every change is validated first and leaves everything as it was when it fails. After each change the
/// catalog is rebuilt, and the persistent part of the config is saved.
/// </summary>
public sealed partial class BackendRegistry : IBackendRegistry, IAsyncDisposable
{
    private readonly BackendServices _services;
    private readonly ProxyCatalog _catalog;
    private readonly Func<IReadOnlyList<ModelContextProtocol.Protocol.Tool>> _localTools;
    private readonly IConfigStore _store;
    private readonly Backoff _backoff;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Lock _rebuildLock = new();
    private readonly HashSet<string> _ephemeral = new(StringComparer.Ordinal);
    private volatile ProxyConfig _config;
    private volatile Dictionary<string, Backend> _live = new(StringComparer.Ordinal);
    private volatile Backend[] _liveList = [];
    private volatile ConfigProblem? _configError;

    internal BackendRegistry(
        ProxyConfig initial,
        IEnumerable<string> ephemeral,
        BackendServices services,
        ProxyCatalog catalog,
        Func<IReadOnlyList<ModelContextProtocol.Protocol.Tool>> localTools,
        IConfigStore store,
        Backoff backoff,
        ToolPins? pins = null)
    {
        _config = initial;
        _ephemeral.UnionWith(ephemeral);
        _services = services;
        _catalog = catalog;
        _localTools = localTools;
        _store = store;
        _backoff = backoff;
        Pins = pins;
        _logger = services.LoggerFactory.CreateLogger<BackendRegistry>();
    }

    /// <inheritdoc/>
    public event Action? Changed;

    /// <inheritdoc/>
    public ProxyConfig Config => _config;

    /// <inheritdoc/>
    public IReadOnlyList<Backend> LiveBackends => _liveList;

    /// <summary>The proxy settings in force.</summary>
    public ProxySettings Settings => _config.Settings;

    /// <summary>Tool pinning (rug-pull protection), or null when not wired.</summary>
    public ToolPins? Pins { get; }

    /// <summary>Where changes are saved, or null.</summary>
    public string? StoreLocation => _store.Location;

    /// <inheritdoc/>
    public Backend? Live(string name) => _live.GetValueOrDefault(name);

    /// <summary>Starts every enabled backend, all at once.</summary>
    public void Start()
    {
        var live = new Dictionary<string, Backend>(StringComparer.Ordinal);
        foreach (var config in _config.Servers.Where(s => s.Enabled))
        {
            live[config.Name] = CreateBackend(config);
        }

        SetLive(live);
        foreach (var backend in live.Values)
        {
            backend.Start();
        }

        Rebuild();
    }

    /// <inheritdoc/>
    public async Task AddAsync(BackendConfig config, bool persist, CancellationToken cancellationToken)
    {
        ValidateOrThrow(config);

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_config.Find(config.Name) is not null)
            {
                throw new ManagementException($"a server named '{config.Name}' already exists. Choose another name, or remove it first.");
            }

            var next = _config with { Servers = [.. _config.Servers, config] };
            if (!persist)
            {
                _ephemeral.Add(config.Name);
            }

            Save(next);
            _config = next;
            if (config.Enabled)
            {
                StartLive(config);
            }

            LogAdded(_logger, config.Name, config.DisplayTarget);
        }
        finally
        {
            _gate.Release();
        }

        Rebuild();
    }

    /// <inheritdoc/>
    public async Task RemoveAsync(string name, CancellationToken cancellationToken)
    {
        Backend? stopped;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            RequireKnown(name);
            var next = _config with { Servers = [.. _config.Servers.Where(s => s.Name != name)] };
            Save(next);
            _config = next;
            _ephemeral.Remove(name);
            stopped = TakeLive(name);
            LogRemoved(_logger, name);
        }
        finally
        {
            _gate.Release();
        }

        Rebuild();
        if (stopped is not null)
        {
            await stopped.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async Task SetEnabledAsync(string name, bool enabled, CancellationToken cancellationToken)
    {
        Backend? stopped = null;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var current = RequireKnown(name);
            if (current.Enabled == enabled)
            {
                return;
            }

            var updated = current with { Enabled = enabled };
            var next = _config with { Servers = [.. _config.Servers.Select(s => s.Name == name ? updated : s)] };
            Save(next);
            _config = next;
            if (enabled)
            {
                StartLive(updated);
            }
            else
            {
                stopped = TakeLive(name);
            }

            LogEnabled(_logger, name, enabled ? "enabled" : "disabled");
        }
        finally
        {
            _gate.Release();
        }

        Rebuild();
        if (stopped is not null)
        {
            await stopped.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async Task ApplyAsync(ProxyConfig config, CancellationToken cancellationToken)
    {
        var toStop = new List<Backend>();
        var replicasToStop = new List<Replica>();
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Servers given on the command line stay, unless the file now defines the same name.
            var kept = _config.Servers.Where(s => _ephemeral.Contains(s.Name) && config.Find(s.Name) is null).ToList();
            var next = config with { Servers = [.. config.Servers, .. kept] };
            var live = new Dictionary<string, Backend>(_live, StringComparer.Ordinal);
            var started = new List<Backend>();
            foreach (var old in _config.Servers)
            {
                var now = next.Find(old.Name);
                if (live.TryGetValue(old.Name, out var gone) && (now is null || !now.Enabled || !gone.CanUpdateTo(now)))
                {
                    live.Remove(old.Name);
                    toStop.Add(gone);
                }
            }

            foreach (var now in next.Servers.Where(s => s.Enabled))
            {
                if (live.TryGetValue(now.Name, out var existing))
                {
                    if (!existing.Config.Equals(now))
                    {
                        replicasToStop.AddRange(existing.UpdateConfig(now));
                    }
                }
                else
                {
                    var backend = CreateBackend(now);
                    live[now.Name] = backend;
                    started.Add(backend);
                }
            }

            _config = next;
            SetLive(live);
            foreach (var backend in started)
            {
                backend.Start();
            }

            LogApplied(_logger, next.Servers.Count, started.Count, toStop.Count);
        }
        finally
        {
            _gate.Release();
        }

        Rebuild();
        await Task.WhenAll([.. toStop.Select(b => b.DisposeAsync().AsTask()), .. replicasToStop.Select(r => r.DisposeAsync().AsTask())]).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task UpdateAsync(BackendConfig config, CancellationToken cancellationToken)
    {
        ValidateOrThrow(config);

        Backend? stopped = null;
        IReadOnlyList<Replica> replicasToStop = [];
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            RequireKnown(config.Name);
            var next = _config with { Servers = [.. _config.Servers.Select(s => s.Name == config.Name ? config : s)] };
            Save(next);
            _config = next;
            var live = _live.GetValueOrDefault(config.Name);
            if (live is not null && config.Enabled && live.CanUpdateTo(config))
            {
                replicasToStop = live.UpdateConfig(config);
            }
            else
            {
                stopped = TakeLive(config.Name);
                if (config.Enabled)
                {
                    StartLive(config);
                }
            }

            LogUpdated(_logger, config.Name, config.DisplayTarget);
        }
        finally
        {
            _gate.Release();
        }

        Rebuild();
        if (stopped is not null)
        {
            await stopped.DisposeAsync().ConfigureAwait(false);
        }

        await Task.WhenAll(replicasToStop.Select(r => r.DisposeAsync().AsTask())).ConfigureAwait(false);
    }

    /// <summary>
    /// Records that the config file could not be applied (parse or validation errors), or clears that when
    /// <paramref name="error"/> is null. The last good config stays in force; <c>proxy_status</c> shows this.
    /// </summary>
    public void ReportConfigError(string? error)
    {
        _configError = error is null ? null : new ConfigProblem(error, _services.TimeProvider.GetUtcNow());
        Changed?.Invoke();
    }

    /// <summary>Why the config file was last refused, and when; null while the file in force is the one on disk.</summary>
    public ConfigProblem? ConfigError => _configError;

    /// <summary>Rebuilds the catalog from every ready backend and publishes it.</summary>
    public void Rebuild()
    {
        lock (_rebuildLock)
        {
            var sources = new List<CatalogSource>();
            var seen = new List<(Backend Backend, HealthState State)>();
            var live = _live;
            foreach (var config in _config.Servers)
            {
                if (!live.TryGetValue(config.Name, out var backend))
                {
                    continue;
                }

                // A backend that stopped serving keeps its lists through the withdraw grace (Backend.CatalogView).
                var (state, lists) = backend.CatalogView;
                seen.Add((backend, state));
                if (lists is not null)
                {
                    sources.Add(new CatalogSource(backend.Config, lists));
                }
            }

            _catalog.Publish(CatalogBuilder.Build(sources, _localTools(), _config.Settings, Pins));
            foreach (var (backend, state) in seen)
            {
                backend.ServedState = state;
            }
        }

        Changed?.Invoke();
    }

    /// <summary>Stops every backend.</summary>
    public async ValueTask DisposeAsync()
    {
        var all = _liveList;
        SetLive(new Dictionary<string, Backend>(StringComparer.Ordinal));
        await Task.WhenAll(all.Select(b => b.DisposeAsync().AsTask())).ConfigureAwait(false);
    }

    private Backend CreateBackend(BackendConfig config)
    {
        var backend = new Backend(config, _services, _backoff);
        backend.Changed += (_, kinds) => Rebuild();
        return backend;
    }

    private void ValidateOrThrow(BackendConfig config)
    {
        var problems = ConfigValidator.Validate(config, _config.Settings).ToList();
        if (problems.Count > 0)
        {
            throw new ManagementException(string.Join(" ", problems));
        }
    }

    /// <summary>Creates the backend for <paramref name="config"/>, makes it live alongside the others, and starts it.</summary>
    private void StartLive(BackendConfig config)
    {
        var backend = CreateBackend(config);
        SetLive(new Dictionary<string, Backend>(_live, StringComparer.Ordinal) { [config.Name] = backend });
        backend.Start();
    }

    private void SetLive(Dictionary<string, Backend> live)
    {
        _live = live;
        _liveList = [.. _config.Servers.Select(s => live.GetValueOrDefault(s.Name)).OfType<Backend>()];
    }

    private Backend? TakeLive(string name)
    {
        var live = new Dictionary<string, Backend>(_live, StringComparer.Ordinal);
        live.Remove(name, out var backend);
        SetLive(live);
        return backend;
    }

    private BackendConfig RequireKnown(string name) =>
        _config.Find(name) ?? throw new ManagementException(
            $"there is no server named '{name}'. Known servers: {(_config.Servers.Count == 0 ? "none" : string.Join(", ", _config.Servers.Select(s => s.Name)))}. Use action 'list' to see them.");

    private void Save(ProxyConfig next)
    {
        if (_store.Location is null)
        {
            return;
        }

        try
        {
            _store.Save(next with { Servers = [.. next.Servers.Where(s => !_ephemeral.Contains(s.Name))] });
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ManagementException($"the change was not made because the config file '{_store.Location}' could not be written: {ex.Message}", ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Backend}: added ({Target})")]
    private static partial void LogAdded(ILogger logger, string backend, string target);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Backend}: removed")]
    private static partial void LogRemoved(ILogger logger, string backend);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Backend}: {What}")]
    private static partial void LogEnabled(ILogger logger, string backend, string what);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Backend}: updated ({Target})")]
    private static partial void LogUpdated(ILogger logger, string backend, string target);

    [LoggerMessage(Level = LogLevel.Information, Message = "Config applied: {Count} servers, {Started} started, {Stopped} stopped")]
    private static partial void LogApplied(ILogger logger, int count, int started, int stopped);
}

/// <summary>A config file that could not be applied: the errors (file:line each) and when it was read.</summary>
public sealed record ConfigProblem(string Error, DateTimeOffset At);
