using McpMultiProxy.Configuration;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;

namespace McpMultiProxy.Backends;

/// <summary>Makes the SDK client transport for one replica of a backend. One implementation per transport kind.</summary>
public interface IBackendTransportFactory
{
    /// <summary>True when this factory handles <paramref name="transport"/>.</summary>
    bool Handles(BackendTransport transport);

    /// <summary>Creates the transport for replica <paramref name="replica"/>; expands <c>${env:…}</c> now, not earlier.</summary>
    IClientTransport Create(BackendConfig config, int replica, ILoggerFactory loggerFactory);
}
