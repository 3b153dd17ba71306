using System.IO.Pipelines;
using McpMultiProxy.Backends;
using McpMultiProxy.Benchmarks.Server;
using McpMultiProxy.Catalog;
using McpMultiProxy.Configuration;
using McpMultiProxy.Management;
using McpMultiProxy.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpMultiProxy.Benchmarks.Micro;

/// <summary>
/// The proxy engine composed as the executable composes it, with every byte in memory: client ⇄ (pipes) ⇄ proxy
/// frontend (SDK server with the proxy's handlers) → router → backend session ⇄ (pipes) ⇄ fast backend. No
/// sockets and no other processes, so a micro-benchmark sees only the proxy's and the SDK's own work.
/// </summary>
internal sealed class InMemoryProxy : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly List<IAsyncDisposable> _owned = [];

    private InMemoryProxy(ServiceProvider services)
    {
        _services = services;
    }

    /// <summary>A client connected to the proxy's frontend.</summary>
    public McpClient Client { get; private set; } = null!;

    /// <summary>A client connected straight to a backend of its own (the direct baseline).</summary>
    public McpClient DirectClient { get; private set; } = null!;

    public BackendRegistry Registry => _services.GetRequiredService<BackendRegistry>();

    public ProxyCatalog Catalog => _services.GetRequiredService<ProxyCatalog>();

    /// <summary>Starts a proxy with <paramref name="backends"/> in-memory backends named b00, b01, … and waits until all their tools are served.</summary>
    public static async Task<InMemoryProxy> StartAsync(int backends)
    {
        var servers = Enumerable.Range(0, backends)
            .Select(i => new BackendConfig { Name = $"b{i:00}", Transport = BackendTransport.Http, Urls = ["http://in-memory/mcp"] })
            .ToList();
        var startup = new ProxyStartup(ProxyConfig.Empty with { Servers = servers }, [.. servers.Select(s => s.Name)], new NoConfigStore());

        var collection = new ServiceCollection();
        collection.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        collection.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));

        // Registered before the engine's own factories: the first that handles a transport wins.
        collection.AddSingleton<IBackendTransportFactory, InMemoryTransportFactory>();
        collection.AddMultiProxyCore(startup);
        var proxy = new InMemoryProxy(collection.BuildServiceProvider());
        var registry = proxy.Registry;
        registry.Start();

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (proxy.Catalog.Current.ToolRoutes.Count < backends * FastBackend.ToolCount && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        var options = new McpServerOptions();
        ProxyServerOptions.Configure(
            options,
            proxy._services.GetRequiredService<ProxyHandlers>(),
            proxy.Catalog,
            registry,
            proxy._services.GetRequiredService<ClientSessions>());
        proxy.Client = await proxy.ConnectAsync(options, proxy._services);
        proxy.DirectClient = await proxy.ConnectAsync(FastBackend.CreateOptions(), null);
        return proxy;
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await DirectClient.DisposeAsync();
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            await owned.DisposeAsync();
        }

        await Registry.DisposeAsync();
        await _services.DisposeAsync();
    }

    private async Task<McpClient> ConnectAsync(McpServerOptions serverOptions, IServiceProvider? services)
    {
        var (clientTransport, server) = Serve(serverOptions, services);
        _owned.Add(server);
        return await McpClient.CreateAsync(clientTransport, new McpClientOptions { ProtocolVersion = "2025-11-25" });
    }

    /// <summary>Runs an SDK server on a pair of pipes; returns the client end.</summary>
    internal static (IClientTransport Client, McpServer Server) Serve(McpServerOptions options, IServiceProvider? services)
    {
        var toServer = new Pipe();
        var toClient = new Pipe();
        var server = McpServer.Create(
            new StreamServerTransport(toServer.Reader.AsStream(), toClient.Writer.AsStream()),
            options,
            NullLoggerFactory.Instance,
            services);
        _ = server.RunAsync();
        return (new StreamClientTransport(toServer.Writer.AsStream(), toClient.Reader.AsStream()), server);
    }

    /// <summary>Every "HTTP" backend is a fresh fast backend on pipes.</summary>
    private sealed class InMemoryTransportFactory : IBackendTransportFactory
    {
        public bool Handles(BackendTransport transport) => transport == BackendTransport.Http;

        public IClientTransport Create(BackendConfig config, int replica, ILoggerFactory loggerFactory) =>
            Serve(FastBackend.CreateOptions(), null).Client;
    }
}
