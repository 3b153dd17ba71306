using McpMultiProxy.Configuration;
using McpMultiProxy.Security;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;

namespace McpMultiProxy.Backends;

/// <summary>Reaches a backend over streamable HTTP (falling back to legacy SSE) or SSE only, on one shared connection pool.</summary>
internal sealed class HttpTransportFactory(HttpClient httpClient) : IBackendTransportFactory
{
    public bool Handles(BackendTransport transport) => transport is BackendTransport.Http or BackendTransport.Sse;

    public IClientTransport Create(BackendConfig config, int replica, ILoggerFactory loggerFactory) =>
        new HttpClientTransport(
            new HttpClientTransportOptions
            {
                Name = config.Name,
                Endpoint = new Uri(config.Urls[replica]),
                TransportMode = config.Transport == BackendTransport.Sse ? HttpTransportMode.Sse : HttpTransportMode.AutoDetect,
                AdditionalHeaders = EnvExpander.ExpandAll(config.Headers, $"server '{config.Name}' header"),
                ConnectionTimeout = TimeSpan.FromSeconds(30),
                MaxReconnectionAttempts = 2,
            },
            httpClient,
            loggerFactory,
            ownsHttpClient: false);

    /// <summary>
    /// The shared client: pooled keep-alive connections, no overall timeout (SSE streams are long-lived), and no
    /// backend message larger than <paramref name="maxMessageBytes"/> held in memory.
    /// </summary>
    public static HttpClient CreateSharedClient(long maxMessageBytes = SecuritySettings.DefaultMaxBackendMessageBytes) => new(new ResponseSizeLimitHandler(
        new SocketsHttpHandler
        {
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            MaxConnectionsPerServer = 256,
            UseProxy = false,
        },
        maxMessageBytes))
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };
}
