using McpMultiProxy.Backends;
using McpMultiProxy.Catalog;
using McpMultiProxy.Configuration;
using McpMultiProxy.Health;
using McpMultiProxy.Management;
using McpMultiProxy.Routing;
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
        services.AddSingleton(_ => HttpTransportFactory.CreateSharedClient());
        services.AddSingleton<Backends.Processes.ProcessGroupWatchdog>();
        services.AddSingleton<IBackendTransportFactory, StdioTransportFactory>();
        services.AddSingleton<IBackendTransportFactory>(sp => new HttpTransportFactory(sp.GetRequiredService<HttpClient>()));
        services.TryAddSingleton(Backoff.Default);
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
                sp.GetRequiredService<Backoff>());
            return registry;
        });
        services.AddSingleton<IBackendRegistry>(sp => sp.GetRequiredService<BackendRegistry>());
        services.AddSingleton(sp => new ManagementService(sp.GetRequiredService<BackendRegistry>(), sp.GetRequiredService<ProxyCatalog>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ProxyHandlers>();
        services.AddHostedService<RegistryLifetime>();
        services.AddSingleton<HealthMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<HealthMonitor>());
        return services;
    }

    /// <summary>Starts every backend with the host, in parallel, and stops them (children included) when the host stops.</summary>
    private sealed class RegistryLifetime(BackendRegistry registry) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            registry.Start();
            return Task.CompletedTask;
        }

        public async Task StopAsync(CancellationToken cancellationToken) => await registry.DisposeAsync().ConfigureAwait(false);
    }
}
