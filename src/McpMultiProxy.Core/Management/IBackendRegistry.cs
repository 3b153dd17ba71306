using McpMultiProxy.Backends;
using McpMultiProxy.Configuration;

namespace McpMultiProxy.Management;

/// <summary>
/// The one service that owns the set of backends. The command line, the config file and its reload,
/// <c>manage</c>, the admin API and the web console all change backends through it and nothing else.
/// Kept behind an interface so that several proxy replicas can later share one registry.
/// </summary>
public interface IBackendRegistry
{
    /// <summary>Raised after the set of backends or any backend's state or lists changed.</summary>
    event Action? Changed;

    /// <summary>The configuration in force (every backend, enabled or not, in order).</summary>
    ProxyConfig Config { get; }

    /// <summary>The live backend of that name, or null when it is unknown or disabled.</summary>
    Backend? Live(string name);

    /// <summary>Every live (enabled) backend.</summary>
    IReadOnlyList<Backend> LiveBackends { get; }

    /// <summary>Adds a backend; throws <see cref="ManagementException"/> if the name is taken or the config is invalid.</summary>
    Task AddAsync(BackendConfig config, bool persist, CancellationToken cancellationToken);

    /// <summary>Removes a backend and stops it.</summary>
    Task RemoveAsync(string name, CancellationToken cancellationToken);

    /// <summary>Enables or disables a backend.</summary>
    Task SetEnabledAsync(string name, bool enabled, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces one backend's config. When only settings or its URL list changed, live sessions are kept (a new URL
    /// adds a replica, a dropped URL stops one); otherwise it is restarted.
    /// </summary>
    Task UpdateAsync(BackendConfig config, CancellationToken cancellationToken);

    /// <summary>Applies a whole new config (reload): only added, removed and changed backends are touched.</summary>
    Task ApplyAsync(ProxyConfig config, CancellationToken cancellationToken);
}

/// <summary>A management request that cannot be carried out; the message says why and how to fix it.</summary>
public sealed class ManagementException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ManagementException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an empty exception.</summary>
    public ManagementException()
    {
    }

    /// <summary>Creates the exception with an inner exception.</summary>
    public ManagementException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Readings of a registry that several views share.</summary>
public static class BackendRegistryReadings
{
    /// <summary>
    /// The state of a configured backend: its live state, <c>disabled</c> when turned off, <c>starting</c> when enabled
    /// but not started yet (the moment between a config change and its backend's creation).
    /// </summary>
    public static Health.HealthState StateOf(this IBackendRegistry registry, BackendConfig config) =>
        registry.Live(config.Name)?.ServedState ?? (config.Enabled ? Health.HealthState.Starting : Health.HealthState.Disabled);
}
