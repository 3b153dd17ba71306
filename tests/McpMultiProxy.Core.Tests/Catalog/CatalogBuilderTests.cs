using System.Text.Json;
using System.Text.Json.Nodes;
using McpMultiProxy.Backends;
using McpMultiProxy.Catalog;
using McpMultiProxy.Configuration;
using McpMultiProxy.Management;
using ModelContextProtocol.Protocol;

namespace McpMultiProxy.Tests.Catalog;

public sealed class CatalogBuilderTests
{
    private static readonly JsonElement EmptySchema = JsonDocument.Parse("""{"type":"object"}""").RootElement.Clone();

    private static Tool T(string name, bool readOnly = false) => new()
    {
        Name = name,
        Description = $"does {name}",
        InputSchema = EmptySchema,
        Annotations = readOnly ? new ToolAnnotations { ReadOnlyHint = true } : null,
    };

    private static CatalogSource Source(string backend, NameFilter? tools = null, params Tool[] list) =>
        new(new BackendConfig { Name = backend, Transport = BackendTransport.Http, Urls = ["http://127.0.0.1:1/mcp"], Tools = tools ?? NameFilter.All },
            new BackendLists(list, [new Prompt { Name = "p" }], [new Resource { Name = "r", Uri = "file:///shared" }], [new ResourceTemplate { Name = "t", UriTemplate = $"{backend}://item/{{id}}" }]));

    [Fact]
    public void Build_Always_PrefixesEveryToolAndKeepsProxyToolsFirst()
    {
        var snapshot = CatalogBuilder.Build([Source("a", null, T("x")), Source("b", null, T("y"))], ProxyTools.Definitions, ProxySettings.Default);
        Assert.Equal(["manage", "proxy_status", "proxy_health", "a__x", "b__y"], snapshot.Tools.Select(t => t.Name));
        Assert.Equal(new ToolRoute("a", "x", snapshot.Tools[3], false), snapshot.ToolRoutes["a__x"]);
        Assert.Equal("does x", snapshot.Tools[3].Description);
    }

    [Fact]
    public void Build_Always_AddingABackendNeverRenamesOthers()
    {
        var before = CatalogBuilder.Build([Source("a", null, T("x"))], [], ProxySettings.Default);
        var after = CatalogBuilder.Build([Source("a", null, T("x")), Source("b", null, T("x"))], [], ProxySettings.Default);
        Assert.Contains("a__x", before.ToolRoutes.Keys);
        Assert.Contains("a__x", after.ToolRoutes.Keys);
    }

    [Fact]
    public void Build_OnConflict_PrefixesOnlySharedNames()
    {
        var settings = ProxySettings.Default with { Prefix = PrefixMode.OnConflict };
        var snapshot = CatalogBuilder.Build([Source("a", null, T("x"), T("only_a")), Source("b", null, T("x"))], [], settings);
        Assert.Equal(["a__x", "only_a", "b__x"], snapshot.Tools.Select(t => t.Name));
        Assert.Equal("x", snapshot.ToolRoutes["b__x"].OriginalName);
    }

    [Fact]
    public void Build_Never_FirstWinsAndClashIsReported()
    {
        var settings = ProxySettings.Default with { Prefix = PrefixMode.Never };
        var snapshot = CatalogBuilder.Build([Source("a", null, T("x")), Source("b", null, T("x"))], [], settings);
        Assert.Equal("a", snapshot.ToolRoutes["x"].Backend);
        Assert.Contains(snapshot.Conflicts, c => c.Contains("server 'b'", StringComparison.Ordinal) && c.Contains("taken by server 'a'", StringComparison.Ordinal));
    }

    [Fact]
    public void Build_ToolNamedLikeProxyTool_IsRefusedNotShadowing()
    {
        var settings = ProxySettings.Default with { Prefix = PrefixMode.Never };
        var snapshot = CatalogBuilder.Build([Source("a", null, T("manage"))], ProxyTools.Definitions, settings);
        Assert.Null(snapshot.ToolRoutes["manage"].Backend);
        Assert.Contains(snapshot.Conflicts, c => c.Contains("the proxy itself", StringComparison.Ordinal));
    }

    [Fact]
    public void Build_OnConflict_ToolNamedLikeProxyTool_GetsPrefix()
    {
        var settings = ProxySettings.Default with { Prefix = PrefixMode.OnConflict };
        var snapshot = CatalogBuilder.Build([Source("a", null, T("manage"))], ProxyTools.Definitions, settings);
        Assert.Equal("manage", snapshot.ToolRoutes["a__manage"].OriginalName);
    }

    [Fact]
    public void Build_AllowDenyFilters_AreApplied()
    {
        var snapshot = CatalogBuilder.Build([Source("a", new NameFilter(["read_*"], ["read_secret"]), T("read_file"), T("read_secret"), T("write_file"))], [], ProxySettings.Default);
        Assert.Equal(["a__read_file"], snapshot.Tools.Select(t => t.Name));
    }

    [Fact]
    public void Build_ReadOnlyTool_IsRetryable()
    {
        var snapshot = CatalogBuilder.Build([Source("a", null, T("get", readOnly: true), T("put"))], [], ProxySettings.Default);
        Assert.True(snapshot.ToolRoutes["a__get"].Retryable);
        Assert.False(snapshot.ToolRoutes["a__put"].Retryable);
    }

    [Fact]
    public void Build_SameResourceUriInTwoBackends_SecondIsRewrittenAndRoutable()
    {
        var snapshot = CatalogBuilder.Build([Source("a", null), Source("b", null)], [], ProxySettings.Default);
        Assert.Equal(2, snapshot.Resources.Count);
        Assert.Equal("a", snapshot.FindResource("file:///shared")!.Backend);
        var rewritten = snapshot.Resources[1].Uri;
        Assert.Equal(new ResourceRoute("b", "file:///shared"), snapshot.FindResource(rewritten));
    }

    [Fact]
    public void FindResource_TemplateMatch_RoutesToOwner()
    {
        var snapshot = CatalogBuilder.Build([Source("a", null), Source("b", null)], [], ProxySettings.Default);
        Assert.Equal("b", snapshot.FindResource("b://item/42")!.Backend);
        Assert.Null(snapshot.FindResource("c://item/42"));
    }

    [Fact]
    public void Publish_SameContent_RaisesNoChange_DifferentContent_RaisesOnlyThatList()
    {
        var catalog = new ProxyCatalog();
        var changes = new List<ListKinds>();
        catalog.Changed += changes.Add;

        catalog.Publish(CatalogBuilder.Build([Source("a", null, T("x"))], [], ProxySettings.Default));
        catalog.Publish(CatalogBuilder.Build([Source("a", null, T("x"))], [], ProxySettings.Default));
        catalog.Publish(CatalogBuilder.Build([Source("a", null, T("x"), T("y"))], [], ProxySettings.Default));

        Assert.Equal([ListKinds.All, ListKinds.Tools], changes);
    }

    [Fact]
    public void ToolsPage_WalksEveryToolOnceWithProxyCursors()
    {
        var tools = Enumerable.Range(0, 25).Select(i => T($"t{i:00}")).ToArray();
        var snapshot = CatalogBuilder.Build([Source("a", null, tools)], [], ProxySettings.Default with { PageSize = 10 });

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = snapshot.ToolsPage(cursor);
            seen.AddRange(page.Tools.Select(t => t.Name));
            cursor = page.NextCursor;
            pages++;
        }
        while (cursor is not null);

        Assert.Equal(3, pages);
        Assert.Equal(snapshot.Tools.Select(t => t.Name), seen);
    }

    [Fact]
    public void SerializedPage_EveryPage_IsTheJsonOfThatPageAndIsKeptOnlyWhileInForce()
    {
        var catalog = new ProxyCatalog();
        var tools = Enumerable.Range(0, 25).Select(i => T($"t{i:00}")).ToArray();
        var settings = ProxySettings.Default with { PageSize = 10 };
        catalog.Publish(CatalogBuilder.Build([Source("a", null, tools)], [], settings));
        var snapshot = catalog.Current;
        var typeInfo = ModelContextProtocol.McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(ListToolsResult));

        string? cursor = null;
        var pages = 0;
        do
        {
            var page = snapshot.SerializedPage(RequestMethods.ToolsList, cursor);
            Assert.Equal(JsonSerializer.Serialize(snapshot.ToolsPage(cursor), typeInfo), page.Text);
            Assert.Same(page, snapshot.SerializedPage(RequestMethods.ToolsList, cursor));

            // As a node inside a JSON-RPC response it is written as the same text.
            var response = JsonSerializer.Serialize<JsonRpcMessage>(new JsonRpcResponse { Id = new RequestId(7), Result = page.NewNode() }, ModelContextProtocol.McpJsonUtilities.DefaultOptions);
            Assert.Contains($"\"result\":{page.Text}", response, StringComparison.Ordinal);
            cursor = JsonNode.Parse(page.Text)!["nextCursor"]?.GetValue<string>();
            pages++;
        }
        while (cursor is not null);

        Assert.Equal(3, pages);
        var foreign = Assert.Throws<ModelContextProtocol.McpProtocolException>(() => snapshot.SerializedPage(RequestMethods.ToolsList, Convert.ToBase64String("mmp:999:0"u8)));
        Assert.Equal(ModelContextProtocol.McpErrorCode.InvalidParams, foreign.ErrorCode);
        Assert.Throws<ModelContextProtocol.McpProtocolException>(() => snapshot.SerializedPage(RequestMethods.ToolsList, Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"mmp:{snapshot.Version}:26"))));
        Assert.Equal("""{"prompts":[{"name":"a__p"}]}""", snapshot.SerializedPage(RequestMethods.PromptsList, null).Text);

        // Superseded (kept only for clients still paging through it): its pages are made per request, none kept.
        catalog.Publish(CatalogBuilder.Build([Source("a", null, [T("new"), .. tools])], [], settings));
        var old = snapshot.SerializedPage(RequestMethods.ToolsList, null);
        Assert.NotSame(old, snapshot.SerializedPage(RequestMethods.ToolsList, null));
        Assert.Equal(JsonSerializer.Serialize(snapshot.ToolsPage(null), typeInfo), old.Text);
    }

    [Fact]
    public void ForCursor_ListChangedWhilePaging_FinishesOnTheSnapshotItStartedOn()
    {
        var catalog = new ProxyCatalog();
        var small = ProxySettings.Default with { PageSize = 2 };
        var tools = Enumerable.Range(0, 5).Select(i => T($"t{i}")).ToArray();
        catalog.Publish(CatalogBuilder.Build([Source("a", null, tools)], [], small));
        var first = catalog.Current.ToolsPage(null);
        catalog.Publish(CatalogBuilder.Build([Source("a", null, [T("new"), .. tools])], [], small));

        var second = catalog.ForCursor(first.NextCursor!).ToolsPage(first.NextCursor!);

        Assert.Equal(["a__t2", "a__t3"], second.Tools.Select(t => t.Name));
    }

    [Fact]
    public void ForCursor_ManyRebuildsWithTheSameLists_CursorStaysValid()
    {
        var catalog = new ProxyCatalog();
        var small = ProxySettings.Default with { PageSize = 2 };
        var tools = Enumerable.Range(0, 5).Select(i => T($"t{i}")).ToArray();
        catalog.Publish(CatalogBuilder.Build([Source("a", null, tools)], [], small));
        var first = catalog.Current.ToolsPage(null);
        for (var i = 0; i < 200; i++)
        {
            // Fifty backends coming up rebuild the catalog again and again; most rebuilds change no list.
            catalog.Publish(CatalogBuilder.Build([Source("a", null, tools)], [], small));
        }

        var second = catalog.ForCursor(first.NextCursor!).ToolsPage(first.NextCursor!);

        Assert.Equal(["a__t2", "a__t3"], second.Tools.Select(t => t.Name));
        Assert.Equal(first.NextCursor, catalog.Current.ToolsPage(null).NextCursor);
    }

    [Fact]
    public void ToolsPage_ForeignCursor_IsInvalidParams()
    {
        var catalog = new ProxyCatalog();
        catalog.Publish(CatalogBuilder.Build([Source("a", null, T("x"))], [], ProxySettings.Default));
        var foreign = Assert.Throws<ModelContextProtocol.McpProtocolException>(() => catalog.ForCursor("backend-cursor-123"));
        Assert.Equal(ModelContextProtocol.McpErrorCode.InvalidParams, foreign.ErrorCode);
        Assert.Throws<ModelContextProtocol.McpProtocolException>(() => catalog.ForCursor(Convert.ToBase64String("mmp:999:0"u8)));
    }
}
