using System.Net;
using System.Net.Sockets;

namespace McpMultiProxy.Tests.Infrastructure;

/// <summary>
/// A loopback TCP port that was free a moment ago. Prefer letting a server bind port 0 and report its port
/// (every launcher here does); use this only where a port must be known before the server starts, e.g. in a
/// config file.
/// </summary>
public static class FreePort
{
    public static int Get()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
