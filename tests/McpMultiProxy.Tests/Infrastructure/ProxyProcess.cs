using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace McpMultiProxy.Tests.Infrastructure;

/// <summary>
/// The proxy executable (mcp-multiproxy.dll) running as a child of the test, in one of its two frontends:
/// <list type="bullet">
/// <item><see cref="StartStdioAsync"/>: <c>--stdio</c>; <see cref="Client"/> is an SDK client on its stdin/stdout.</item>
/// <item><see cref="StartHttpAsync"/>: <c>--http 127.0.0.1:0</c>; <see cref="Url"/> is read from the stderr line
/// <c>MCP endpoint: http://127.0.0.1:&lt;port&gt;/mcp</c>; <see cref="ConnectAsync"/> makes clients.</item>
/// </list>
/// stderr lines are kept for assertions (<see cref="StderrLines"/>). Dispose closes the stdio client (stdin EOF),
/// gives the proxy a moment to exit on its own, then kills its whole tree by handle.
/// </summary>
public sealed class ProxyProcess : IAsyncDisposable
{
    /// <summary>The marker the proxy prints on stderr before the URL of its MCP endpoint.</summary>
    public const string EndpointMarker = "MCP endpoint: ";

    private ProxyProcess(ChildProcess process, McpClient? client, Uri? url)
    {
        Process = process;
        Client = client;
        Url = url;
    }

    private RecordingStream? _recorder;

    public ChildProcess Process { get; }

    /// <summary>Everything the proxy wrote on stdout in stdio mode, when started with <c>recordOutput</c>; else empty.</summary>
    public string ProtocolOutput => _recorder?.Text ?? "";

    public int Pid => Process.Pid;

    /// <summary>The client connected over stdio (stdio mode), else null.</summary>
    public McpClient? Client { get; }

    /// <summary>The MCP endpoint (HTTP mode), else null.</summary>
    public Uri? Url { get; }

    public IReadOnlyList<string> StderrLines => Process.StderrLines;

    /// <summary>Starts <c>mcp-multiproxy [args] --stdio</c> and connects an SDK client to its stdin/stdout.</summary>
    /// <remarks>
    /// The test owns the process (not <see cref="StdioClientTransport"/>), so the pid is known at once, stderr is
    /// captured from the first line, and the tree is killed by this handle.
    /// </remarks>
    public static Task<ProxyProcess> StartStdioAsync(
        IEnumerable<string> args,
        McpClientOptions? clientOptions = null,
        CancellationToken cancellationToken = default) =>
        StartStdioAsync(args, new Dictionary<string, string?>(), clientOptions, cancellationToken: cancellationToken);

    /// <summary>Like <see cref="StartStdioAsync(IEnumerable{string}, McpClientOptions?, CancellationToken)"/>, with variables set (null: removed) in the proxy's environment.</summary>
    /// <param name="recordOutput">Keep every byte the proxy writes on stdout (its protocol channel): <see cref="ProtocolOutput"/>.</param>
    public static async Task<ProxyProcess> StartStdioAsync(
        IEnumerable<string> args,
        IReadOnlyDictionary<string, string?> environment,
        McpClientOptions? clientOptions = null,
        bool recordOutput = false,
        CancellationToken cancellationToken = default)
    {
        List<string> arguments = [TestPaths.ProxyDll, .. args];
        if (!arguments.Contains("--stdio"))
        {
            arguments.Add("--stdio");
        }

        var process = ChildProcess.Start(TestPaths.DotNetHost, arguments, environment, stdoutIsProtocol: true);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ChildProcess.StartupTimeout);
            var recorder = recordOutput ? new RecordingStream(process.StandardOutput) : null;
            var transport = new StreamClientTransport(process.StandardInput, recorder ?? process.StandardOutput);
            var client = await McpClient.CreateAsync(transport, clientOptions ?? McpTestClient.NewOptions(), loggerFactory: null, timeout.Token);
            return new ProxyProcess(process, client, url: null) { _recorder = recorder };
        }
        catch (Exception ex)
        {
            try
            {
                // Usually the proxy died at start-up: let it finish so its exit code and last words show.
                await process.WaitForExitAsync(TimeSpan.FromSeconds(1));
            }
            catch (TimeoutException)
            {
            }

            var description = process.Describe();
            await process.DisposeAsync();
            throw new InvalidOperationException($"Could not connect to the proxy over stdio: {ex.Message}\n{description}", ex);
        }
    }

    /// <summary>
    /// Starts <c>mcp-multiproxy [args] --http 127.0.0.1:0</c> (unless args has its own --http) and waits for the
    /// endpoint line on stderr.
    /// </summary>
    public static Task<ProxyProcess> StartHttpAsync(IEnumerable<string> args, CancellationToken cancellationToken = default) =>
        StartHttpAsync(args, new Dictionary<string, string?>(), cancellationToken);

    /// <summary>Like <see cref="StartHttpAsync(IEnumerable{string}, CancellationToken)"/>, with variables set (null: removed) in the proxy's environment.</summary>
    public static async Task<ProxyProcess> StartHttpAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string?> environment, CancellationToken cancellationToken = default)
    {
        List<string> arguments = [TestPaths.ProxyDll, .. args];
        if (!arguments.Contains("--http"))
        {
            arguments.AddRange(["--http", "127.0.0.1:0"]);
        }

        var process = ChildProcess.Start(TestPaths.DotNetHost, arguments, environment);
        try
        {
            var line = await process.WaitForLineAsync(l => l.Contains(EndpointMarker, StringComparison.Ordinal), cancellationToken: cancellationToken);
            var url = line[(line.IndexOf(EndpointMarker, StringComparison.Ordinal) + EndpointMarker.Length)..].Trim();
            return new ProxyProcess(process, client: null, new Uri(url));
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary>Connects a new SDK client to the HTTP endpoint; the caller disposes it.</summary>
    public Task<McpClient> ConnectAsync(McpClientOptions? options = null, CancellationToken cancellationToken = default) =>
        McpClient.CreateAsync(
            new HttpClientTransport(new HttpClientTransportOptions
            {
                Endpoint = Url ?? throw new InvalidOperationException("The proxy was started in stdio mode; use Client."),
                TransportMode = HttpTransportMode.StreamableHttp,
            }),
            options ?? McpTestClient.NewOptions(),
            loggerFactory: null,
            cancellationToken);

    /// <summary>Waits for a stderr (or stdout, in HTTP mode) line that matches, e.g. a log message.</summary>
    public Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan? timeout = null) =>
        Process.WaitForLineAsync(match, timeout);

    public async ValueTask DisposeAsync()
    {
        if (Client is not null)
        {
            // Closing stdin is how a client says goodbye to a stdio server; a well-behaved proxy exits.
            await Client.DisposeAsync();
            Process.CloseStandardInput();
            try
            {
                await Process.WaitForExitAsync(ChildProcess.StdioShutdownTimeout);
            }
            catch (TimeoutException)
            {
                // Killed below.
            }
        }

        await Process.DisposeAsync();
    }

    /// <summary>Passes reads through and keeps a copy of every byte read.</summary>
    private sealed class RecordingStream(Stream inner) : McpMultiProxy.Security.ReadOnlyWrapperStream(inner)
    {
        private readonly MemoryStream _copy = new();

        public string Text
        {
            get
            {
                lock (_copy)
                {
                    return System.Text.Encoding.UTF8.GetString(_copy.GetBuffer(), 0, (int)_copy.Length);
                }
            }
        }

        public override int Read(byte[] buffer, int offset, int count) => Keep(buffer.AsSpan(offset, Inner.Read(buffer, offset, count)));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await Inner.ReadAsync(buffer, cancellationToken);
            return Keep(buffer.Span[..read]);
        }

        private int Keep(ReadOnlySpan<byte> read)
        {
            lock (_copy)
            {
                _copy.Write(read);
            }

            return read.Length;
        }
    }
}
