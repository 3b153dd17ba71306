using McpMultiProxy.Configuration;
using McpMultiProxy.Health;
using McpMultiProxy.Management;

namespace McpMultiProxy.Telemetry;

/// <summary>
/// Turns the registry's change notifications into <see cref="EventLog"/> entries: backends added, removed,
/// enabled, disabled, state changes, list changes and connection errors. It compares what it saw last with
/// what is there now, so every path that changes backends (command line, config reload, <c>manage</c>, admin
/// API) is covered without any of them knowing about it.
/// </summary>
public sealed class BackendWatcher : IDisposable
{
    private readonly IBackendRegistry _registry;
    private readonly EventLog _events;
    private readonly ToolUsage _usage;
    private readonly Lock _lock = new();
    private Dictionary<string, Seen> _seen;

    /// <summary>Starts watching; what exists now is the starting point (no events for it).</summary>
    public BackendWatcher(IBackendRegistry registry, EventLog events, ToolUsage usage)
    {
        _registry = registry;
        _events = events;
        _usage = usage;
        _seen = Observe();
        registry.Changed += OnChanged;
    }

    /// <inheritdoc/>
    public void Dispose() => _registry.Changed -= OnChanged;

    private void OnChanged()
    {
        lock (_lock)
        {
            var now = Observe();
            foreach (var name in _seen.Keys.Where(n => !now.ContainsKey(n)))
            {
                _events.Append(ProxyEventKind.Removed, name, $"{name}: removed");
                _usage.Forget(name);
            }

            foreach (var (name, current) in now)
            {
                Compare(name, _seen.GetValueOrDefault(name), current);
            }

            _seen = now;
        }
    }

    private void Compare(string name, Seen? old, Seen now)
    {
        var state = now.State.ToDisplay();
        if (old is null)
        {
            _events.Append(ProxyEventKind.Added, name, $"{name}: added ({now.Config.DisplayTarget}){(now.Enabled ? "" : ", disabled")}", state);
            return;
        }

        if (old.Enabled != now.Enabled)
        {
            _events.Append(now.Enabled ? ProxyEventKind.Enabled : ProxyEventKind.Disabled, name, $"{name}: {(now.Enabled ? "enabled" : "disabled")}", state);
        }
        else if (old.State != now.State)
        {
            var why = now.State is HealthState.Degraded or HealthState.Unhealthy && now.LastError is { } error ? $": {error}" : "";
            _events.Append(ProxyEventKind.State, name, $"{name}: {old.State.ToDisplay()} → {state}{why}", state);
        }

        if (now.State == HealthState.Unhealthy && now.LastError is { } reason && now.LastErrorAt != old.LastErrorAt)
        {
            _events.Append(ProxyEventKind.ConnectionError, name, $"{name}: {reason}", state);
        }

        if (old.State.IsReady() && now.State.IsReady() && (old.Tools, old.Prompts, old.Resources) != (now.Tools, now.Prompts, now.Resources))
        {
            _events.Append(ProxyEventKind.Lists, name, $"{name}: now {now.Tools} tools, {now.Prompts} prompts, {now.Resources} resources", state);
        }
    }

    private Dictionary<string, Seen> Observe()
    {
        var seen = new Dictionary<string, Seen>(StringComparer.Ordinal);
        foreach (var config in _registry.Config.Servers)
        {
            var backend = _registry.Live(config.Name);
            string? lastError = null;
            DateTimeOffset? lastErrorAt = null;
            foreach (var replica in backend?.Replicas ?? [])
            {
                var (error, errorAt) = replica.LastFailure;
                if (errorAt is { } at && (lastErrorAt is null || at > lastErrorAt))
                {
                    (lastError, lastErrorAt) = (error, at);
                }
            }

            var lists = backend?.Lists;
            seen[config.Name] = new Seen(
                config.Enabled,
                _registry.StateOf(config),
                config,
                lists?.Tools.Count ?? 0,
                lists?.Prompts.Count ?? 0,
                (lists?.Resources.Count ?? 0) + (lists?.Templates.Count ?? 0),
                lastError,
                lastErrorAt);
        }

        return seen;
    }

    /// <summary>What was seen of one server; <see cref="Config"/> gives its target, shown only when it is added.</summary>
    private sealed record Seen(bool Enabled, HealthState State, BackendConfig Config, int Tools, int Prompts, int Resources, string? LastError, DateTimeOffset? LastErrorAt);
}
