using McpMultiProxy.Configuration;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;

namespace McpMultiProxy.Backends;

/// <summary>What every backend connection needs from the proxy: clock, logging, transports, the way back to clients, settings.</summary>
internal sealed class BackendServices(
    ILoggerFactory loggerFactory,
    TimeProvider timeProvider,
    IEnumerable<IBackendTransportFactory> transports,
    IClientBridge bridge,
    Func<ProxySettings> settings,
    CallGate? calls = null)
{
    private readonly IBackendTransportFactory[] _transports = [.. transports];

    public ILoggerFactory LoggerFactory { get; } = loggerFactory;

    public TimeProvider TimeProvider { get; } = timeProvider;

    public IClientBridge Bridge { get; } = bridge;

    public Func<ProxySettings> Settings { get; } = settings;

    /// <summary>Every forwarded request passes here, so a shutdown can drain them.</summary>
    public CallGate Calls { get; } = calls ?? new CallGate();

    public IClientTransport CreateTransport(BackendConfig config, int replica) =>
        (_transports.FirstOrDefault(t => t.Handles(config.Transport))
            ?? throw new InvalidOperationException($"No transport is registered for '{config.Transport}'.")).Create(config, replica, LoggerFactory);
}
