using ModelContextProtocol.Client;

namespace McpMultiProxy.Tests.Infrastructure;

/// <summary>
/// How to launch mcp-testserver as a stdio backend: <see cref="Command"/> with <see cref="Arguments"/>, for a
/// proxy config (<c>"command"</c>/<c>"args"</c>) or for an SDK <see cref="StdioClientTransport"/>.
/// </summary>
public static class TestServerCommand
{
    /// <summary>The dotnet host.</summary>
    public static string Command => TestPaths.DotNetHost;

    /// <summary>mcp-testserver.dll followed by <paramref name="flags"/>, e.g. <c>"--name", "alpha", "--slow", "50"</c>.</summary>
    public static IList<string> Arguments(params string[] flags) => [TestPaths.TestServerDll, .. flags];

    /// <summary>An SDK stdio transport that starts the test server with <paramref name="flags"/>.</summary>
    /// <param name="stderr">Receives every stderr line of the server (e.g. <c>CHILD_PID</c>, crash reasons).</param>
    public static StdioClientTransport CreateStdioTransport(IEnumerable<string> flags, Action<string>? stderr = null) =>
        new(new StdioClientTransportOptions
        {
            Name = "mcp-testserver",
            Command = Command,
            Arguments = Arguments([.. flags]),
            StandardErrorLines = stderr,
            ShutdownTimeout = ChildProcess.StdioShutdownTimeout,
        });

    /// <summary>Starts the test server over stdio and connects an SDK client to it.</summary>
    public static async Task<McpClient> ConnectStdioAsync(
        IEnumerable<string> flags,
        McpClientOptions? options = null,
        Action<string>? stderr = null,
        CancellationToken cancellationToken = default) =>
        await McpClient.CreateAsync(CreateStdioTransport(flags, stderr), options ?? McpTestClient.NewOptions(), loggerFactory: null, cancellationToken);
}
