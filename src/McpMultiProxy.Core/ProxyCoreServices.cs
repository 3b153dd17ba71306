using System.Diagnostics.Metrics;
using McpMultiProxy.Backends;
using McpMultiProxy.Catalog;
using McpMultiProxy.Configuration;
using McpMultiProxy.Health;
using McpMultiProxy.Management;
using McpMultiProxy.Routing;
using McpMultiProxy.Security;
using McpMultiProxy.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace McpMultiProxy;

/// <summary>What the proxy starts with: the config, which servers came from the command line (not saved), and where changes are saved.</summary>
public sealed record ProxyStartup(ProxyConfig Config, IReadOnlyCollection<string> EphemeralServers, IConfigStore Store);

/// <summary>Registers the proxy engine in a service collection. The executable adds frontends on top.</summary>
public static class ProxyCoreServices
{
    /// <summary>Adds the engine: registry, catalog, routing, management, health monitoring.</summary>
    public static IServiceCollection AddMultiProxyCore(this IServiceCollection services, ProxyStartup startup)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(startup);
        services.AddSingleton(startup.Store);
        services.AddSingleton<ProxyCatalog>();
        services.AddSingleton<ClientSessions>();
        services.AddSingleton<IClientBridge>(sp => sp.GetRequiredService<ClientSessions>());
        services.AddSingleton(_ => HttpTransportFactory.CreateSharedClient(startup.Config.Settings.Security.MaxBackendMessageBytes));
        services.AddSingleton<IBackendTransportFactory, StdioTransportFactory>();
        services.AddSingleton<IBackendTransportFactory>(sp => new HttpTransportFactory(sp.GetRequiredService<HttpClient>()));
        services.TryAddSingleton(Backoff.Default);
        services.AddSingleton<SecretValues>();
        services.AddSingleton(sp => new ToolPins(
            ToolPins.PathFor(startup.Store.Location),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<ToolPins>()));
        services.AddSingleton(sp =>
        {
            BackendRegistry? registry = null;
            var backendServices = new BackendServices(
                sp.GetRequiredService<ILoggerFactory>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetServices<IBackendTransportFactory>(),
                sp.GetRequiredService<IClientBridge>(),
                () => registry!.Settings);
            registry = new BackendRegistry(
                startup.Config,
                startup.EphemeralServers,
                backendServices,
                sp.GetRequiredService<ProxyCatalog>(),
                () => ProxyTools.Definitions,
                startup.Store,
                sp.GetRequiredService<Backoff>(),
                sp.GetRequiredService<ToolPins>());

            // Every secret of the config in force is known to the log scrubber and to status output.
            var secrets = sp.GetRequiredService<SecretValues>();
            secrets.UpdateFrom(registry.Config);
            registry.Changed += () => secrets.UpdateFrom(registry.Config);
            return registry;
        });
        services.AddSingleton<IBackendRegistry>(sp => sp.GetRequiredService<BackendRegistry>());
        services.AddSingleton(sp => new ManagementService(sp.GetRequiredService<BackendRegistry>(), sp.GetRequiredService<ProxyCatalog>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<SecretValues>()));
        services.AddSingleton<EventLog>();
        services.AddSingleton<ToolUsage>();
        services.AddSingleton(sp => new BackendWatcher(sp.GetRequiredService<IBackendRegistry>(), sp.GetRequiredService<EventLog>(), sp.GetRequiredService<ToolUsage>()));
        services.AddSingleton(sp => new ProxyTelemetry(
            sp.GetService<IMeterFactory>(),
            sp.GetRequiredService<IBackendRegistry>(),
            sp.GetRequiredService<ClientSessions>(),
            sp.GetRequiredService<ToolUsage>(),
            sp.GetRequiredService<EventLog>(),
            sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ProxyHandlers>();
        services.AddHostedService<RegistryLifetime>();
        services.AddSingleton<HealthMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<HealthMonitor>());
        return services;
    }

    /// <summary>Starts every backend with the host, in parallel, and stops them (children included) when the host stops.</summary>
    /// <remarks>The event watcher is created first (it subscribes when created), so that it sees the backends come up.</remarks>
    private sealed class RegistryLifetime(BackendRegistry registry, BackendWatcher watcher) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            registry.Start();
            return Task.CompletedTask;
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            await registry.DisposeAsync().ConfigureAwait(false);
            watcher.Dispose();
        }
    }
}
