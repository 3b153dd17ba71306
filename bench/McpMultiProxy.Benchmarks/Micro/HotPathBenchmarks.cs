using System.Text.Json.Nodes;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using McpMultiProxy.Backends;
using McpMultiProxy.Catalog;
using McpMultiProxy.Configuration;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace McpMultiProxy.Benchmarks.Micro;

/// <summary>
/// A tool call end to end in memory: straight to the fast backend (the floor), through the whole proxy
/// (frontend, router, backend session), and the proxy's backend hop alone (router + backend session).
/// The difference between the first two is what the proxy adds to a call, without any network.
/// </summary>
[MemoryDiagnoser]
public class ForwardingBenchmarks
{
    private static readonly Dictionary<string, object?> Args = new() { ["text"] = "hello" };
    private InMemoryProxy _proxy = null!;
    private Backend _backend = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _proxy = await InMemoryProxy.StartAsync(1);
        _backend = _proxy.Registry.Live("b00") ?? throw new InvalidOperationException("backend b00 is not live");
    }

    [GlobalCleanup]
    public async Task CleanupAsync() => await _proxy.DisposeAsync();

    [Benchmark(Baseline = true, Description = "call, direct (client → backend)")]
    public Task<CallToolResult> Direct() => _proxy.DirectClient.CallToolAsync("echo", Args).AsTask();

    [Benchmark(Description = "call, through the proxy (client → proxy → backend)")]
    public Task<CallToolResult> ThroughProxy() => _proxy.Client.CallToolAsync("b00__echo", Args).AsTask();

    [Benchmark(Description = "backend hop only (Backend.SendAsync)")]
    public Task<CallToolResult> BackendHop() =>
        _backend.SendAsync<CallToolRequestParams, CallToolResult>(
            RequestMethods.ToolsCall,
            new CallToolRequestParams { Name = "echo", Arguments = new Dictionary<string, JsonElement> { ["text"] = JsonElement.Parse("\"hello\"") } },
            caller: null,
            retryable: false,
            CancellationToken.None);
}

/// <summary>The catalogue: looking a served name up, rebuilding the snapshot, and serialising the prebuilt tools/list answer.</summary>
[MemoryDiagnoser]
public class CatalogBenchmarks
{
    private CatalogSnapshot _snapshot = null!;
    private List<CatalogSource> _sources = null!;
    private string[] _names = null!;
    private int _next;

    [Params(1, 10, 50)]
    public int Backends { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var tools = Enumerable.Range(0, 20).Select(i => new Tool
        {
            Name = $"tool_{i}",
            Description = $"Filler tool {i}: echoes 'text'. It exists so that catalogues have a realistic size.",
            InputSchema = JsonElement.Parse("""{"type":"object","properties":{"text":{"type":"string","description":"Text to echo."}},"required":["text"]}"""),
        }).ToList();
        _sources = [.. Enumerable.Range(0, Backends).Select(b => new CatalogSource(
            new BackendConfig { Name = $"b{b:00}", Transport = BackendTransport.Http, Urls = ["http://x/mcp"] },
            new BackendLists(tools, [], [], [])))];
        _snapshot = CatalogBuilder.Build(_sources, [], ProxySettings.Default);
        _names = [.. _snapshot.ToolRoutes.Keys.Order()];
    }

    [Benchmark(Description = "name lookup (served name → route)")]
    public ToolRoute? Lookup()
    {
        var name = _names[_next++ % _names.Length];
        return _snapshot.ToolRoutes.TryGetValue(name, out var route) ? route : null;
    }

    [Benchmark(Description = "catalog rebuild")]
    public CatalogSnapshot Rebuild() => CatalogBuilder.Build(_sources, [], ProxySettings.Default);

    [Benchmark(Description = "tools/list response as the proxy writes it (page serialised once per snapshot)")]
    public byte[] WriteToolsListPrebuilt() => Response(_snapshot.SerializedPage(RequestMethods.ToolsList, null).NewNode());

    [Benchmark(Description = "tools/list response as the SDK's handler path writes it (result → JsonNode → bytes)")]
    public byte[] WriteToolsListAsSdk() =>
        Response(JsonSerializer.SerializeToNode(_snapshot.ToolsPage(null), McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(ListToolsResult))));

    private static byte[] Response(JsonNode? result) =>
        JsonSerializer.SerializeToUtf8Bytes<JsonRpcMessage>(new JsonRpcResponse { Id = new RequestId(1), Result = result }, (System.Text.Json.Serialization.Metadata.JsonTypeInfo<JsonRpcMessage>)McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(JsonRpcMessage)));
}
