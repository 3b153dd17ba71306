using ModelContextProtocol.Client;

namespace McpMultiProxy.Tests.Infrastructure;

/// <summary>
/// mcp-testserver running as an HTTP backend on a free loopback port (<c>--http 0</c>; the port is read from its
/// <c>LISTENING</c> line, so there is no race for the port).
/// </summary>
public sealed class TestServerProcess : IAsyncDisposable
{
    private TestServerProcess(ChildProcess process, Uri url)
    {
        Process = process;
        Url = url;
    }

    /// <summary>The MCP endpoint, <c>http://127.0.0.1:&lt;port&gt;/mcp</c>.</summary>
    public Uri Url { get; }

    public int Pid => Process.Pid;

    /// <summary>The process, for its output lines and exit code.</summary>
    public ChildProcess Process { get; }

    /// <summary>Starts the test server in HTTP mode with <paramref name="flags"/> (e.g. <c>"--name", "alpha"</c>).</summary>
    public static Task<TestServerProcess> StartAsync(params string[] flags) => StartOnPortAsync(0, flags);

    /// <summary>
    /// Starts the test server in HTTP mode on <paramref name="port"/>: to bring a killed backend back at the URL
    /// the proxy knows, pass the port of the one that was killed.
    /// </summary>
    public static async Task<TestServerProcess> StartOnPortAsync(int port, params string[] flags)
    {
        // A port just freed by a killed server may take a moment to be released: a fixed port is retried briefly.
        for (var attempt = 1; ; attempt++)
        {
            var process = ChildProcess.Start(
                TestServerCommand.Command,
                TestServerCommand.Arguments([.. flags, "--http", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]));
            try
            {
                var line = await process.WaitForLineAsync(l => l.StartsWith("LISTENING ", StringComparison.Ordinal));
                return new TestServerProcess(process, new Uri(line["LISTENING ".Length..]));
            }
            catch (InvalidOperationException) when (port != 0 && attempt < 5)
            {
                await process.DisposeAsync();
                await Task.Delay(500);
            }
            catch
            {
                await process.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>Connects a new SDK client over streamable HTTP; the caller disposes it.</summary>
    public Task<McpClient> ConnectAsync(McpClientOptions? options = null, CancellationToken cancellationToken = default) =>
        McpClient.CreateAsync(
            new HttpClientTransport(new HttpClientTransportOptions { Endpoint = Url, TransportMode = HttpTransportMode.StreamableHttp }),
            options ?? McpTestClient.NewOptions(),
            loggerFactory: null,
            cancellationToken);

    /// <summary>Kills the server and its descendants (by handle), e.g. to simulate a backend dying.</summary>
    public void Kill() => Process.Kill();

    public ValueTask DisposeAsync() => Process.DisposeAsync();
}
