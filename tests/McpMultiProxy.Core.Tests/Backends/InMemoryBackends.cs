using System.IO.Pipelines;
using System.Text.Json;
using McpMultiProxy.Backends;
using McpMultiProxy.Catalog;
using McpMultiProxy.Configuration;
using McpMultiProxy.Management;
using McpMultiProxy.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpMultiProxy.Tests.Backends;

/// <summary>
/// Backends that live in the test process: every connect starts an SDK server on a pair of pipes, one per
/// replica URL. Tests kill a replica (its client sees the connection close), refuse connects, and drive all
/// proxy timing (backoff, grace, timeouts) on a <see cref="FakeTimeProvider"/>.
/// Tools: <c>whoami</c> (answers the replica's URL), <c>echo</c>, <c>ro</c> (readOnlyHint), <c>hang</c> (waits until cancelled).
/// </summary>
internal sealed class InMemoryBackends : IBackendTransportFactory
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Server> _servers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _refused = new(StringComparer.Ordinal);
    private int _connects;

    public FakeTimeProvider Time { get; } = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Connects made so far, all replicas.</summary>
    public int Connects => Volatile.Read(ref _connects);

    /// <summary>Calls of <c>hang</c> that saw their cancellation.</summary>
    public int HangsCancelled;

    /// <summary>Closing a client session waits for this first (a child process that takes a while to stop).</summary>
    public Task CloseGate { get; set; } = Task.CompletedTask;

    public bool Handles(BackendTransport transport) => true;

    public IClientTransport Create(BackendConfig config, int replica, ILoggerFactory loggerFactory) => new Transport(this, config.Urls[replica]);

    /// <summary>Makes connects to <paramref name="url"/> fail (or succeed again).</summary>
    public void Refuse(string url, bool refuse = true)
    {
        lock (_lock)
        {
            if (refuse)
            {
                _refused.Add(url);
            }
            else
            {
                _refused.Remove(url);
            }
        }
    }

    /// <summary>Ends the live server of <paramref name="url"/>: its client sees end-of-stream.</summary>
    public void Kill(string url)
    {
        Server? server;
        lock (_lock)
        {
            _servers.Remove(url, out server);
        }

        server?.Kill();
    }

    public BackendServices Services(ProxySettings? settings = null, CallGate? gate = null) =>
        new(NullLoggerFactory.Instance, Time, [this], new ClientSessions(NullLogger<ClientSessions>.Instance), () => settings ?? ProxySettings.Default, gate);

    public BackendRegistry Registry(ProxyCatalog catalog, ProxySettings settings, params BackendConfig[] servers) =>
        new(new ProxyConfig(servers, settings), [], Services(settings), catalog, () => [], new NoConfigStore(), Backoff.Default);

    /// <summary>A backend for <paramref name="config"/> on these servers, started, once it is healthy.</summary>
    public async Task<Backend> StartHealthyAsync(BackendConfig config, CallGate? gate = null)
    {
        var backend = new Backend(config, Services(gate: gate), Backoff.Default);
        backend.Start();
        await WaitForAsync(() => backend.State == McpMultiProxy.Health.HealthState.Healthy, "healthy");
        return backend;
    }

    public static BackendConfig Config(string name, params string[] urls) =>
        new() { Name = name, Transport = BackendTransport.Http, Urls = [.. urls] };

    /// <summary>Calls a tool the way the router does.</summary>
    public static Task<CallToolResult> CallAsync(Backend backend, string tool, bool retryable = false, CancellationToken cancellationToken = default) =>
        backend.SendAsync<CallToolRequestParams, CallToolResult>(
            RequestMethods.ToolsCall,
            new CallToolRequestParams { Name = tool, Arguments = new Dictionary<string, JsonElement>() },
            caller: null,
            retryable,
            cancellationToken);

    public static string Text(CallToolResult result) => ((TextContentBlock)result.Content[0]).Text;

    /// <summary>Waits (real time, briefly) for background work driven by the fake clock to catch up.</summary>
    public static async Task WaitForAsync(Func<bool> condition, string what)
    {
        for (var i = 0; i < 1000 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition(), $"timed out waiting for: {what}");
    }

    private sealed class Transport(InMemoryBackends owner, string url) : IClientTransport
    {
        public string Name => url;

        public async Task<ITransport> ConnectAsync(CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref owner._connects);
            lock (owner._lock)
            {
                if (owner._refused.Contains(url))
                {
                    throw new HttpRequestException(HttpRequestError.ConnectionError, $"connection refused ({url})");
                }
            }

            var server = new Server(owner, url);
            lock (owner._lock)
            {
                owner._servers[url] = server;
            }

            var inner = await new StreamClientTransport(server.ClientToServer.Writer.AsStream(), server.ServerToClient.Reader.AsStream()).ConnectAsync(cancellationToken);
            return new GatedClose(inner, owner);
        }
    }

    /// <summary>A client transport whose closing waits for <see cref="CloseGate"/>.</summary>
    private sealed class GatedClose(ITransport inner, InMemoryBackends owner) : ITransport
    {
        public string? SessionId => inner.SessionId;

        public System.Threading.Channels.ChannelReader<JsonRpcMessage> MessageReader => inner.MessageReader;

        public Task SendMessageAsync(JsonRpcMessage message, CancellationToken cancellationToken = default) => inner.SendMessageAsync(message, cancellationToken);

        public async ValueTask DisposeAsync()
        {
            await owner.CloseGate;
            await inner.DisposeAsync();
        }
    }

    private sealed class Server
    {
        private readonly CancellationTokenSource _stop = new();

        public Server(InMemoryBackends owner, string url)
        {
            var options = new McpServerOptions
            {
                ServerInfo = new Implementation { Name = url, Version = "1" },
                Handlers = new McpServerHandlers
                {
                    ListToolsHandler = (_, _) => ValueTask.FromResult(new ListToolsResult
                    {
                        Tools =
                        [
                            Tool("whoami"), Tool("echo"), Tool("hang"),
                            new Tool { Name = "ro", InputSchema = EmptySchema, Annotations = new ToolAnnotations { ReadOnlyHint = true } },
                        ],
                    }),
                    CallToolHandler = async (request, ct) =>
                    {
                        if (request.Params?.Name == "hang")
                        {
                            try
                            {
                                await Task.Delay(Timeout.Infinite, ct);
                            }
                            catch (OperationCanceledException)
                            {
                                Interlocked.Increment(ref owner.HangsCancelled);
                                throw;
                            }
                        }

                        return new CallToolResult { Content = [new TextContentBlock { Text = url }] };
                    },
                },
            };
            var transport = new StreamServerTransport(ClientToServer.Reader.AsStream(), ServerToClient.Writer.AsStream());
            var server = McpServer.Create(transport, options);
            _ = Task.Run(async () =>
            {
                try
                {
                    await server.RunAsync(_stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
            });
        }

        public Pipe ClientToServer { get; } = new();

        public Pipe ServerToClient { get; } = new();

        public void Kill()
        {
            _stop.Cancel();
            ServerToClient.Writer.Complete();
            ClientToServer.Reader.Complete();
        }

        private static JsonElement EmptySchema => JsonSerializer.SerializeToElement(new { type = "object" });

        private static Tool Tool(string name) => new() { Name = name, InputSchema = EmptySchema };
    }
}
