using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpMultiProxy.Backends;

/// <summary>
/// The way back from a backend to the proxy's clients: requests a backend makes while serving a call
/// (sampling, elicitation, roots) and notifications it sends (log messages, resource updates).
/// </summary>
public interface IClientBridge
{
    /// <summary>Raised when a client session ends (its per-client backend sessions are closed then).</summary>
    event Action<McpServer>? ClientLeft;

    /// <summary>Chooses the client a backend's request belongs to: the caller of its call in flight, or the only client.</summary>
    McpServer? ResolveClient(IReadOnlyCollection<McpServer> callersInFlight);

    /// <summary>
    /// The long-lived session behind a request-scoped server object, or null when the request has no session
    /// (a stateless 2026-era HTTP request).
    /// </summary>
    McpServer? SessionOf(McpServer requestServer);

    /// <summary>A backend sent a log message; <paramref name="callersInFlight"/> are the clients with calls to it under way.</summary>
    ValueTask ForwardLogAsync(string backend, LoggingMessageNotificationParams message, IReadOnlyCollection<McpServer> callersInFlight);

    /// <summary>A backend reports that a resource changed.</summary>
    ValueTask ForwardResourceUpdatedAsync(string backend, string uri);
}
