using System.Text;
using McpMultiProxy.Backends;
using McpMultiProxy.Catalog;
using McpMultiProxy.Health;
using McpMultiProxy.Management;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpMultiProxy.Routing;

/// <summary>
/// Fills the SDK's <see cref="McpServerOptions"/> for the proxy's frontends (stdio and HTTP share it).
/// Lists come from the catalog through low-level handlers; the SDK's (empty) primitive collections are
/// used only as the signal that makes it send <c>list_changed</c> correctly in every protocol era.
/// </summary>
public static class ProxyServerOptions
{
    /// <summary>Configures <paramref name="options"/> to serve the proxy.</summary>
    public static void Configure(McpServerOptions options, ProxyHandlers handlers, ProxyCatalog catalog, BackendRegistry registry, ClientSessions clients)
    {
        options.ServerInfo = new Implementation { Name = ProxyInfo.Name, Title = "MCP multi-server proxy", Version = ProxyInfo.Version };
        options.ScopeRequests = false;
        options.Capabilities = new ServerCapabilities
        {
            Tools = new ToolsCapability { ListChanged = true },
            Prompts = new PromptsCapability { ListChanged = true },
            Resources = new ResourcesCapability { ListChanged = true, Subscribe = true },
            Logging = new LoggingCapability(),
            Completions = new CompletionsCapability(),
        };
        options.ToolCollection = [];
        options.PromptCollection = [];
        options.ResourceCollection = [];
        options.Handlers = new McpServerHandlers
        {
            ListToolsHandler = handlers.ListToolsAsync,
            CallToolWithAlternateHandler = handlers.CallToolWithAlternateAsync,
            ListPromptsHandler = handlers.ListPromptsAsync,
            GetPromptHandler = handlers.GetPromptAsync,
            ListResourcesHandler = handlers.ListResourcesAsync,
            ListResourceTemplatesHandler = handlers.ListResourceTemplatesAsync,
            ReadResourceHandler = handlers.ReadResourceAsync,
            SubscribeToResourcesHandler = handlers.SubscribeAsync,
            UnsubscribeFromResourcesHandler = handlers.UnsubscribeAsync,
            CompleteHandler = handlers.CompleteAsync,
            SubscriptionsListenHandler = handlers.ListenAsync,
        };
        options.ServerInstructions = Instructions(registry);
        options.Filters.Message.IncomingFilters.Add(PrebuiltLists.Filter(catalog));

        catalog.Changed += kinds =>
        {
            options.ServerInstructions = Instructions(registry);

            // Clear() on the empty collections raises their Changed event: the SDK then notifies every session.
            if (kinds.HasFlag(ListKinds.Tools))
            {
                options.ToolCollection.Clear();
            }

            if (kinds.HasFlag(ListKinds.Prompts))
            {
                options.PromptCollection.Clear();
            }

            if (kinds.HasFlag(ListKinds.Resources))
            {
                options.ResourceCollection.Clear();
            }

            _ = clients.NotifyListChangedAsync(kinds);
        };
    }

    /// <summary>The proxy's own instructions: what it fronts, and how names are built.</summary>
    public static string Instructions(BackendRegistry registry)
    {
        var text = new StringBuilder();
        var config = registry.Config;
        var sep = config.Settings.Separator;
        text.Append("This is mcp-multiproxy: one MCP endpoint in front of several MCP servers. ");
        text.Append(config.Settings.Prefix == Configuration.PrefixMode.Always
            ? $"Each server's tools and prompts are served as '<server>{sep}<tool>'. "
            : "Tools keep their names unless two servers share one. ");
        text.Append("Use 'proxy_status' or 'proxy_health' to see the servers, and 'manage' to add, remove, enable, disable or check them.");
        if (config.Servers.Count > 0)
        {
            text.Append(" Servers: ");
            text.Append(string.Join("; ", config.Servers.Select(s =>
            {
                var state = registry.StateOf(s);
                return s.Description is null ? $"{s.Name} ({state.ToDisplay()})" : $"{s.Name} ({state.ToDisplay()}): {s.Description}";
            })));
            text.Append('.');
        }

        return text.ToString();
    }
}
