using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;
using ModelContextProtocol.Protocol;

namespace McpMultiProxy.Catalog;

/// <summary>Where a served tool goes: a backend's tool by its own name, or (Backend null) one of the proxy's own.</summary>
public sealed record ToolRoute(string? Backend, string OriginalName, Tool Served, bool Retryable);

/// <summary>Where a served prompt goes.</summary>
public sealed record PromptRoute(string Backend, string OriginalName);

/// <summary>Where a served resource URI goes, and the URI the backend knows it by.</summary>
public sealed record ResourceRoute(string Backend, string OriginalUri);

/// <summary>A backend's resource template, and how to recognise URIs it produces.</summary>
public sealed record TemplateRoute(string Backend, ResourceTemplate Served, string OriginalTemplate, Regex Matcher);

/// <summary>
/// The merged, namespaced view of every ready backend at one moment. Immutable: a change builds a new
/// snapshot and swaps it in, so lookups on the call path are lock-free dictionary reads.
/// </summary>
public sealed class CatalogSnapshot
{
    private readonly ConcurrentDictionary<(string Method, int Offset), SerializedJson> _serializedPages = new();
    private volatile bool _keepsPages = true;

    internal CatalogSnapshot(
        IReadOnlyList<Tool> tools,
        FrozenDictionary<string, ToolRoute> toolRoutes,
        IReadOnlyList<Prompt> prompts,
        FrozenDictionary<string, PromptRoute> promptRoutes,
        IReadOnlyList<Resource> resources,
        FrozenDictionary<string, ResourceRoute> resourceRoutes,
        IReadOnlyList<TemplateRoute> templates,
        IReadOnlyList<string> conflicts,
        CatalogFingerprint fingerprint,
        int pageSize)
    {
        PageSize = Math.Max(1, pageSize);
        Tools = tools;
        ToolRoutes = toolRoutes;
        Prompts = prompts;
        PromptRoutes = promptRoutes;
        Resources = resources;
        ResourceRoutes = resourceRoutes;
        Templates = templates;
        Conflicts = conflicts;
        Fingerprint = fingerprint;
    }

    /// <summary>Items per page served to clients.</summary>
    public int PageSize { get; }

    /// <summary>Published version; cursors name it so that paging stays on the snapshot it started on.</summary>
    public long Version { get; internal set; }

    /// <summary>An empty catalog.</summary>
    public static CatalogSnapshot Empty { get; } = CatalogBuilder.Build([], [], Configuration.ProxySettings.Default);

    /// <summary>Served tools, in order.</summary>
    public IReadOnlyList<Tool> Tools { get; }

    /// <summary>Served tool name → route.</summary>
    public FrozenDictionary<string, ToolRoute> ToolRoutes { get; }

    /// <summary>Served prompts.</summary>
    public IReadOnlyList<Prompt> Prompts { get; }

    /// <summary>Served prompt name → route.</summary>
    public FrozenDictionary<string, PromptRoute> PromptRoutes { get; }

    /// <summary>Served resources.</summary>
    public IReadOnlyList<Resource> Resources { get; }

    /// <summary>Served resource URI → route.</summary>
    public FrozenDictionary<string, ResourceRoute> ResourceRoutes { get; }

    /// <summary>Served resource templates with their owners.</summary>
    public IReadOnlyList<TemplateRoute> Templates { get; }

    /// <summary>Names that could not be served, and why.</summary>
    public IReadOnlyList<string> Conflicts { get; }

    /// <summary>Content hashes of each list, to tell a real change from a rebuild.</summary>
    public CatalogFingerprint Fingerprint { get; }

    /// <summary>
    /// A page of one of the four lists (<c>tools/list</c>, <c>prompts/list</c>, <c>resources/list</c>,
    /// <c>resources/templates/list</c>) serialised as JSON. While this snapshot is the one in force, each page is
    /// serialised once and kept for every later request of it; once <see cref="ProxyCatalog"/> publishes another
    /// (<see cref="StopKeepingPages"/>), its pages are dropped and a client still paging through it gets each page
    /// serialised per request.
    /// </summary>
    public SerializedJson SerializedPage(string method, string? cursor)
    {
        var offset = Offset(cursor, Count(method));
        if (!_keepsPages)
        {
            return Serialize(method, cursor);
        }

        var page = _serializedPages.GetOrAdd((method, offset), static (key, state) => state.Snapshot.Serialize(key.Method, state.Cursor), (Snapshot: this, Cursor: cursor));
        if (!_keepsPages)
        {
            // Superseded while this page was made: it must not stay behind in a snapshot kept only for paging.
            _serializedPages.Clear();
        }

        return page;
    }

    /// <summary>Called once another snapshot is in force: its serialised pages are let go.</summary>
    internal void StopKeepingPages()
    {
        _keepsPages = false;
        _serializedPages.Clear();
    }

    private int Count(string method) => method switch
    {
        RequestMethods.ToolsList => Tools.Count,
        RequestMethods.PromptsList => Prompts.Count,
        RequestMethods.ResourcesList => Resources.Count,
        RequestMethods.ResourcesTemplatesList => Templates.Count,
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, "Not one of the list methods."),
    };

    private SerializedJson Serialize(string method, string? cursor)
    {
        var json = ModelContextProtocol.McpJsonUtilities.DefaultOptions;
        return method switch
        {
            RequestMethods.ToolsList => SerializedJson.Create(ToolsPage(cursor), (JsonTypeInfo<ListToolsResult>)json.GetTypeInfo(typeof(ListToolsResult))),
            RequestMethods.PromptsList => SerializedJson.Create(PromptsPage(cursor), (JsonTypeInfo<ListPromptsResult>)json.GetTypeInfo(typeof(ListPromptsResult))),
            RequestMethods.ResourcesList => SerializedJson.Create(ResourcesPage(cursor), (JsonTypeInfo<ListResourcesResult>)json.GetTypeInfo(typeof(ListResourcesResult))),
            _ => SerializedJson.Create(TemplatesPage(cursor), (JsonTypeInfo<ListResourceTemplatesResult>)json.GetTypeInfo(typeof(ListResourceTemplatesResult))),
        };
    }

    /// <summary>A page of <c>tools/list</c>; a null cursor is the first page.</summary>
    public ListToolsResult ToolsPage(string? cursor)
    {
        var (items, next) = Page(Tools, cursor);
        return new ListToolsResult { Tools = items, NextCursor = next };
    }

    /// <summary>A page of <c>prompts/list</c>.</summary>
    public ListPromptsResult PromptsPage(string? cursor)
    {
        var (items, next) = Page(Prompts, cursor);
        return new ListPromptsResult { Prompts = items, NextCursor = next };
    }

    /// <summary>A page of <c>resources/list</c>.</summary>
    public ListResourcesResult ResourcesPage(string? cursor)
    {
        var (items, next) = Page(Resources, cursor);
        return new ListResourcesResult { Resources = items, NextCursor = next };
    }

    /// <summary>A page of <c>resources/templates/list</c>.</summary>
    public ListResourceTemplatesResult TemplatesPage(string? cursor)
    {
        var (items, next) = Page([.. Templates.Select(t => t.Served)], cursor);
        return new ListResourceTemplatesResult { ResourceTemplates = items, NextCursor = next };
    }

    /// <summary>Reads a cursor issued by the proxy: the snapshot version and the position in the list.</summary>
    public static (long Version, int Offset) ParseCursor(string cursor)
    {
        try
        {
            var parts = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(cursor)).Split(':');
            if (parts.Length == 3 && parts[0] == "mmp" && long.TryParse(parts[1], out var version) && int.TryParse(parts[2], out var offset) && offset >= 0)
            {
                return (version, offset);
            }
        }
        catch (FormatException)
        {
        }

        throw new ModelContextProtocol.McpProtocolException("Invalid cursor: it was not issued by this server.", ModelContextProtocol.McpErrorCode.InvalidParams);
    }

    /// <summary>
    /// The proxy's own cursors name this snapshot's version and a position in its list, so a client pages
    /// through one consistent list even while backends change (it gets list_changed and lists again).
    /// A backend never sees one.
    /// </summary>
    private (List<T> Items, string? Next) Page<T>(IReadOnlyList<T> all, string? cursor)
    {
        var start = Offset(cursor, all.Count);
        var count = Math.Min(PageSize, all.Count - start);
        var items = new List<T>(count);
        for (var i = start; i < start + count; i++)
        {
            items.Add(all[i]);
        }

        var end = start + count;
        return (items, end < all.Count ? Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"mmp:{Version}:{end}")) : null);
    }

    /// <summary>Where <paramref name="cursor"/> starts in a list of <paramref name="count"/> items of this snapshot (0 for none).</summary>
    private int Offset(string? cursor, int count)
    {
        if (cursor is null)
        {
            return 0;
        }

        var (version, offset) = ParseCursor(cursor);
        return version == Version && offset <= count
            ? offset
            : throw new ModelContextProtocol.McpProtocolException("Invalid cursor: it was not issued for this list.", ModelContextProtocol.McpErrorCode.InvalidParams);
    }

    /// <summary>Finds the backend that owns a resource URI: a listed resource, a rewritten URI, or a template match.</summary>
    public ResourceRoute? FindResource(string uri)
    {
        if (ResourceRoutes.TryGetValue(uri, out var route))
        {
            return route;
        }

        if (ResourceUris.TryParseRewritten(uri, out var backend, out var original))
        {
            return new ResourceRoute(backend, original);
        }

        foreach (var template in Templates)
        {
            if (template.Matcher.IsMatch(uri))
            {
                return new ResourceRoute(template.Backend, uri);
            }
        }

        return null;
    }

    /// <summary>Counts of served tools per backend.</summary>
    public int ToolCount(string backend)
    {
        var n = 0;
        foreach (var route in ToolRoutes.Values)
        {
            if (route.Backend == backend)
            {
                n++;
            }
        }

        return n;
    }
}

/// <summary>Content hashes of the served lists.</summary>
public readonly record struct CatalogFingerprint(string Tools, string Prompts, string Resources);
