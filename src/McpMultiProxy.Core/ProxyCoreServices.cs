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
public sealed record ProxyStartup(ProxyConfig Config, IReadOnlyCollection<string> EphemeralServers, IConfigStore Store)
{
    /// <summary>Re-applies command-line settings (such as <c>--allow-stdio-add</c>) to a config read again from the file.</summary>
    public Func<ProxyConfig, ProxyConfig> ReloadOverrides { get; init; } = c => c;

    /// <summary>Whether edits to the config file are applied while running (when there is a file).</summary>
    public bool WatchConfigFile { get; init; } = true;
}

/// <summary>Registers the proxy engine in a service collection. The executable adds frontends on top.</summary>
public static partial class ProxyCoreServices
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
        services.AddSingleton<IBackendTransportFactory>(sp => new StdioTransportFactory(
            sp.GetRequiredService<Backends.Processes.ProcessGroupWatchdog>(), maxLineBytes: startup.Config.Settings.Security.MaxBackendMessageBytes));
        services.AddSingleton<IBackendTransportFactory>(sp => new HttpTransportFactory(sp.GetRequiredService<HttpClient>()));
        services.TryAddSingleton(Backoff.Default);
        services.AddSingleton<Backends.Processes.ProcessGroupWatchdog>();
        services.AddSingleton<CallGate>();
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
                () => registry!.Settings,
                sp.GetRequiredService<CallGate>());
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
        if (startup.Store is FileConfigStore fileStore && startup.WatchConfigFile)
        {
            services.AddHostedService(sp => new ConfigFileWatcher(
                fileStore.Location!,
                sp.GetRequiredService<BackendRegistry>(),
                fileStore,
                startup.ReloadOverrides,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<ConfigFileWatcher>>()));
        }

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

    /// <summary>
    /// Starts every backend with the host, in parallel. On shutdown, before any frontend stops (Stopping runs
    /// first): refuses new calls, lets calls in flight finish up to <c>proxy.shutdownGraceSeconds</c> and cancels
    /// the rest; then, after the frontends have stopped, stops every backend (children included). The event
    /// watcher is created first (it subscribes when created), so that it sees the backends come up.
    /// </summary>
    private sealed partial class RegistryLifetime(BackendRegistry registry, BackendWatcher watcher, CallGate calls, TimeProvider time, ILogger<BackendRegistry> logger) : IHostedLifecycleService
    {
        public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            registry.Start();
            return Task.CompletedTask;
        }

        public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public async Task StoppingAsync(CancellationToken cancellationToken)
        {
            var grace = TimeSpan.FromSeconds(registry.Settings.ShutdownGraceSeconds);
            LogDraining(logger, calls.InFlight, grace.TotalSeconds);
            var (finished, cancelled) = await calls.DrainAsync(grace, time, cancellationToken).ConfigureAwait(false);
            LogDrained(logger, finished, cancelled);
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            var count = registry.LiveBackends.Count;
            await registry.DisposeAsync().ConfigureAwait(false);
            watcher.Dispose();
            LogStopped(logger, count);
        }

        public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        [LoggerMessage(Level = LogLevel.Information, Message = "Shutting down: new calls are refused; {InFlight} call(s) in flight get {Seconds} s to finish")]
        private static partial void LogDraining(ILogger logger, int inFlight, double seconds);

        [LoggerMessage(Level = LogLevel.Information, Message = "Shutting down: {Finished} call(s) finished, {Cancelled} cancelled")]
        private static partial void LogDrained(ILogger logger, int finished, int cancelled);

        [LoggerMessage(Level = LogLevel.Information, Message = "Shutting down: {Count} server(s) stopped")]
        private static partial void LogStopped(ILogger logger, int count);
    }
}
