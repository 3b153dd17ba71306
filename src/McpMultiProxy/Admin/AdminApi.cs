using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using McpMultiProxy.Catalog;
using McpMultiProxy.Health;
using McpMultiProxy.Management;
using McpMultiProxy.Routing;
using McpMultiProxy.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace McpMultiProxy.Admin;

/// <summary>
/// The admin API: JSON over HTTP under <see cref="Prefix"/>, on the proxy's own listener, so that whatever guards
/// the listener (auth, Origin checks) guards it too. Every change goes through <see cref="ManagementService"/>,
/// the same path as the <c>manage</c> tool, so a change made here shows everywhere at once. Errors are JSON
/// (<c>{"error": "..."}</c>) naming what was wrong: 400 for bad input, 404 for an unknown server or endpoint,
/// 415 for a POST that is not JSON, 502 when a backend fails a tool call.
/// </summary>
internal static partial class AdminApi
{
    /// <summary>Where the API lives.</summary>
    public const string Prefix = "/api";

    private static readonly string[] Endpoints =
    [
        "GET    /api/status                     proxy, summary and every server with health and counters",
        "GET    /api/health                     how many servers are healthy, one line per server",
        "POST   /api/health/check               ping every server now",
        "GET    /api/backends                   every server",
        "POST   /api/backends                   add a server: {\"name\", \"url\" | \"urls\" | \"command\", \"args\", \"env\", \"headers\", \"transport\"}",
        "GET    /api/backends/{name}            one server",
        "DELETE /api/backends/{name}            remove it",
        "POST   /api/backends/{name}/enable     enable it",
        "POST   /api/backends/{name}/disable    disable it",
        "POST   /api/backends/{name}/check      ping it now",
        "POST   /api/backends/{name}/approve    serve again its tools withheld since their definition changed: {\"tool\"} for one, {} for all",
        "GET    /api/backends/{name}/tools      its tools as served",
        "GET    /api/backends/{name}/prompts    its prompts as served",
        "GET    /api/backends/{name}/resources  its resources and resource templates as served",
        "GET    /api/tools                      every tool served, the proxy's own included",
        "POST   /api/tools/call                 call a served tool: {\"name\": \"server__tool\", \"arguments\": {...}}",
        "GET    /api/usage                      per tool: calls, failures, failure rate, average time",
        "GET    /api/history                    per server: calls, errors and response times per 5 s, last 15 minutes",
        "GET    /api/events?after=ID&limit=N    recent state changes and errors (oldest first)",
        "GET    /api/errors?limit=N             recent errors only",
        "GET    /api/events/stream              live events (server-sent events; Last-Event-ID resumes)",
        "GET    /metrics                        Prometheus metrics",
    ];

    /// <summary>
    /// How answers are written: readable (quotes and '+' not escaped), which is safe because they are always served as
    /// application/json with nosniff, never inlined into HTML.
    /// </summary>
    internal static readonly JsonSerializerOptions Output = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Maps every endpoint of the API.</summary>
    public static void MapAdminApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup(Prefix);
        api.AddEndpointFilter(GuardAsync);
        api.MapGet("/", () => Json(new JsonObject { ["endpoints"] = new JsonArray([.. Endpoints.Select(e => JsonValue.Create(e))]) }));
        api.MapGet("/status", (ManagementService management, ClientSessions clients) =>
        {
            var status = management.Status();
            status["clients"] = clients.Count;
            return Json(status);
        });
        api.MapGet("/health", async (ManagementService management, CancellationToken ct) =>
            Result(await management.InvokeAsync(ProxyTools.Health, null, ct).ConfigureAwait(false)));
        api.MapPost("/health/check", (ManagementService management, CancellationToken ct) => ManageAsync(management, "health", null, null, ct));
        api.MapGet("/backends", (ManagementService management) => Json(management.Status()["servers"]));
        api.MapPost("/backends", AddAsync);
        api.MapGet("/backends/{name}", (string name, ManagementService management, BackendRegistry registry) =>
            Known(registry, name) ?? Json(((JsonArray)management.Status(name)["servers"]!)[0]));
        api.MapDelete("/backends/{name}", (string name, ManagementService management, BackendRegistry registry, CancellationToken ct) =>
            Known(registry, name) is { } missing ? Task.FromResult(missing) : ManageAsync(management, "remove", name, null, ct));
        foreach (var (verb, action) in new[] { ("enable", "enable"), ("disable", "disable"), ("check", "health") })
        {
            api.MapPost($"/backends/{{name}}/{verb}", (string name, ManagementService management, BackendRegistry registry, CancellationToken ct) =>
                Known(registry, name) is { } missing ? Task.FromResult(missing) : ManageAsync(management, action, name, null, ct));
        }

        api.MapPost("/backends/{name}/approve", ApproveAsync);
        api.MapGet("/backends/{name}/tools", (string name, BackendRegistry registry, ProxyCatalog catalog) =>
            Known(registry, name) ?? Json(Tools(catalog.Current, name)));
        api.MapGet("/backends/{name}/prompts", (string name, BackendRegistry registry, ProxyCatalog catalog) =>
            Known(registry, name) ?? Json(BackendPrompts(catalog.Current, name)));
        api.MapGet("/backends/{name}/resources", (string name, BackendRegistry registry, ProxyCatalog catalog) =>
            Known(registry, name) ?? Json(BackendResources(catalog.Current, name)));
        api.MapGet("/tools", (ProxyCatalog catalog) => Json(Tools(catalog.Current, backend: null)));
        api.MapPost("/tools/call", CallToolAsync);
        api.MapGet("/usage", (ProxyTelemetry telemetry, ProxyCatalog catalog) => Json(Usage(telemetry.Usage, catalog.Current)));
        api.MapGet("/history", (BackendRegistry registry) => Json(History(registry)));
        api.MapGet("/events", (HttpRequest request, EventLog events) => RecentEvents(request, events, errorsOnly: false));
        api.MapGet("/errors", (HttpRequest request, EventLog events) => RecentEvents(request, events, errorsOnly: true));
        api.MapGet("/events/stream", AdminEventStream.Stream);
        api.Map("/{**path}", (HttpRequest request) =>
            Error(StatusCodes.Status404NotFound, $"{request.Method} {request.Path} is not an endpoint of the admin API; GET {Prefix} lists them."));
    }

    /// <summary>A JSON answer.</summary>
    internal static IResult Json(JsonNode? node, int status = StatusCodes.Status200OK) =>
        Results.Text(node?.ToJsonString(Output) ?? "null", "application/json; charset=utf-8", statusCode: status);

    /// <summary>A JSON error: <c>{"error": message}</c>.</summary>
    internal static IResult Error(int status, string message) => Json(new JsonObject { ["error"] = message }, status);

    /// <summary>
    /// Runs before every endpoint: a POST must carry JSON (a cross-site HTML form cannot send that without a CORS
    /// preflight, which this proxy never grants), and an unexpected exception becomes a JSON 500 that leaks nothing.
    /// </summary>
    private static async ValueTask<object?> GuardAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var request = context.HttpContext.Request;
        context.HttpContext.Response.Headers.XContentTypeOptions = "nosniff";
        context.HttpContext.Response.Headers.CacheControl = "no-store";
        if (HttpMethods.IsPost(request.Method) && !request.HasJsonContentType())
        {
            return Error(StatusCodes.Status415UnsupportedMediaType, "send the request with 'Content-Type: application/json' (an empty body is fine where none is needed).");
        }

        try
        {
            return await next(context).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.HttpContext.RequestAborted.IsCancellationRequested)
        {
            return Results.Empty;
        }
        catch (Exception ex)
        {
            var logger = context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(AdminApi));
            LogFailed(logger, request.Method, request.Path, ex);
            return Error(StatusCodes.Status500InternalServerError, "the request failed inside the proxy; the proxy's log has the details.");
        }
    }

    private static IResult? Known(BackendRegistry registry, string name) =>
        registry.Config.Find(name) is not null ? null : Error(
            StatusCodes.Status404NotFound,
            $"there is no server named '{name}'. Known servers: {(registry.Config.Servers.Count == 0 ? "none" : string.Join(", ", registry.Config.Servers.Select(s => s.Name)))}.");

    private static async Task<IResult> AddAsync(HttpRequest request, ManagementService management, CancellationToken ct)
    {
        var (body, problem) = await ReadObjectAsync(request, "a server, like {\"name\": \"web\", \"url\": \"http://127.0.0.1:8000/mcp\"}", ct).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        if (body!.ContainsKey("action"))
        {
            return Error(StatusCodes.Status400BadRequest, "'action' is not a field of a server: POST /api/backends always adds one.");
        }

        return await ManageAsync(management, "add", null, body, ct, StatusCodes.Status201Created).ConfigureAwait(false);
    }

    private static async Task<IResult> ApproveAsync(string name, HttpRequest request, ManagementService management, BackendRegistry registry, CancellationToken ct)
    {
        if (name != "all" && Known(registry, name) is { } missing)
        {
            return missing;
        }

        var (body, problem) = request.ContentLength is 0 ? ([], null) : await ReadObjectAsync(request, "{\"tool\": \"search\"} or {}", ct).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        return body!.Keys.FirstOrDefault(k => k != "tool") is { } unknown
            ? Error(StatusCodes.Status400BadRequest, $"unknown field '{unknown}': approve takes 'tool' (or nothing, for all of the server's withheld tools).")
            : await ManageAsync(management, "approve", name, body, ct).ConfigureAwait(false);
    }

    private static readonly JsonTypeInfo<string> StringInfo = (JsonTypeInfo<string>)McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(string));

    private static async Task<IResult> ManageAsync(
        ManagementService management, string action, string? name, Dictionary<string, JsonElement>? fields, CancellationToken ct, int okStatus = StatusCodes.Status200OK)
    {
        var args = fields ?? [];
        args["action"] = JsonSerializer.SerializeToElement(action, StringInfo);
        if (name is not null)
        {
            args["name"] = JsonSerializer.SerializeToElement(name, StringInfo);
        }

        var result = await management.InvokeAsync(ProxyTools.Manage, args, ct).ConfigureAwait(false);
        return Result(result, okStatus);
    }

    /// <summary>A proxy tool's result as an answer: its structured content, or a 400 carrying its error.</summary>
    private static IResult Result(CallToolResult result, int okStatus = StatusCodes.Status200OK)
    {
        var structured = result.StructuredContent is { } s ? Node(s) : null;
        if (result.IsError == true)
        {
            return Error(StatusCodes.Status400BadRequest, structured?["error"]?.GetValue<string>() ?? "the request was refused.");
        }

        return Json(structured, okStatus);
    }

    private static async Task<IResult> CallToolAsync(HttpRequest request, ProxyHandlers handlers, ProxyCatalog catalog, TimeProvider time, CancellationToken ct)
    {
        var (body, problem) = await ReadObjectAsync(request, "{\"name\": \"server__tool\", \"arguments\": {...}}", ct).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        if (body!.Keys.FirstOrDefault(k => k is not ("name" or "arguments")) is { } unknown)
        {
            return Error(StatusCodes.Status400BadRequest, $"unknown field '{unknown}': a tool call takes 'name' and 'arguments'.");
        }

        if (!body.TryGetValue("name", out var nameElement) || nameElement.ValueKind != JsonValueKind.String || nameElement.GetString() is not { Length: > 0 } name)
        {
            return Error(StatusCodes.Status400BadRequest, "'name' is required: the served name of the tool, like 'server__tool' (GET /api/tools lists them).");
        }

        if (!catalog.Current.ToolRoutes.ContainsKey(name))
        {
            return Error(StatusCodes.Status400BadRequest, $"'name': no tool named '{name}' is served now (GET /api/tools lists them; a server that is down serves none).");
        }

        Dictionary<string, JsonElement>? arguments = null;
        if (body.TryGetValue("arguments", out var args) && args.ValueKind != JsonValueKind.Null)
        {
            if (args.ValueKind != JsonValueKind.Object)
            {
                return Error(StatusCodes.Status400BadRequest, "'arguments' must be a JSON object of the tool's arguments, like {\"text\": \"hi\"}.");
            }

            arguments = args.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone(), StringComparer.Ordinal);
        }

        var started = time.GetTimestamp();
        try
        {
            var result = await handlers.CallToolAsync(new CallToolRequestParams { Name = name, Arguments = arguments }, null, ct).ConfigureAwait(false);
            return Json(new JsonObject
            {
                ["name"] = name,
                ["elapsedMs"] = Math.Round(time.GetElapsedTime(started).TotalMilliseconds, 2),
                ["result"] = JsonSerializer.SerializeToNode(result, McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(CallToolResult))),
            });
        }
        catch (McpProtocolException ex)
        {
            return Json(
                new JsonObject { ["name"] = name, ["elapsedMs"] = Math.Round(time.GetElapsedTime(started).TotalMilliseconds, 2), ["error"] = ex.Message, ["code"] = (int)ex.ErrorCode },
                StatusCodes.Status502BadGateway);
        }
    }

    private static async Task<(Dictionary<string, JsonElement>? Body, IResult? Problem)> ReadObjectAsync(HttpRequest request, string example, CancellationToken ct)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, new JsonDocumentOptions { MaxDepth = 32 }, ct).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            return (null, Error(StatusCodes.Status400BadRequest, $"the body is not valid JSON ({ex.Message}); send {example}."));
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return (null, Error(StatusCodes.Status400BadRequest, $"the body must be a JSON object: {example}."));
            }

            return (document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone(), StringComparer.Ordinal), null);
        }
    }

    /// <summary>The tools served, in catalog order: every one (<paramref name="backend"/> null) or one server's.</summary>
    private static JsonArray Tools(CatalogSnapshot snapshot, string? backend)
    {
        var tools = new JsonArray();
        foreach (var tool in snapshot.Tools)
        {
            if (snapshot.ToolRoutes.TryGetValue(tool.Name, out var route) && (backend is null || route.Backend == backend))
            {
                tools.Add((JsonNode)ToolJson(tool, route));
            }
        }

        return tools;
    }

    /// <summary>
    /// A node over <paramref name="element"/> (what <see cref="JsonNode.Parse(string, JsonNodeOptions?, JsonDocumentOptions)"/>
    /// of its raw text gives, without the text round trip); null for a JSON null.
    /// </summary>
    private static JsonNode? Node(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => JsonObject.Create(element),
        JsonValueKind.Array => JsonArray.Create(element),
        _ => JsonValue.Create(element),
    };

    private static JsonObject ToolJson(Tool tool, ToolRoute route) => new()
    {
        ["name"] = tool.Name,
        ["backend"] = route.Backend,
        ["originalName"] = route.OriginalName,
        ["title"] = tool.Title ?? tool.Annotations?.Title,
        ["description"] = tool.Description,
        ["inputSchema"] = Node(tool.InputSchema),
        ["readOnly"] = tool.Annotations?.ReadOnlyHint,
        ["destructive"] = tool.Annotations?.DestructiveHint,
    };

    private static JsonArray BackendPrompts(CatalogSnapshot snapshot, string backend) =>
        new([.. snapshot.Prompts
            .Where(p => snapshot.PromptRoutes.TryGetValue(p.Name, out var route) && route.Backend == backend)
            .Select(p => new JsonObject
            {
                ["name"] = p.Name,
                ["originalName"] = snapshot.PromptRoutes[p.Name].OriginalName,
                ["title"] = p.Title,
                ["description"] = p.Description,
                ["arguments"] = new JsonArray([.. (p.Arguments ?? []).Select(a => new JsonObject { ["name"] = a.Name, ["description"] = a.Description, ["required"] = a.Required })]),
            })]);

    private static JsonObject BackendResources(CatalogSnapshot snapshot, string backend) => new()
    {
        ["resources"] = new JsonArray([.. snapshot.Resources
            .Where(r => snapshot.ResourceRoutes.TryGetValue(r.Uri, out var route) && route.Backend == backend)
            .Select(r => new JsonObject { ["uri"] = r.Uri, ["name"] = r.Name, ["title"] = r.Title, ["description"] = r.Description, ["mimeType"] = r.MimeType })]),
        ["templates"] = new JsonArray([.. snapshot.Templates
            .Where(t => t.Backend == backend)
            .Select(t => new JsonObject { ["uriTemplate"] = t.Served.UriTemplate, ["name"] = t.Served.Name, ["title"] = t.Served.Title, ["description"] = t.Served.Description, ["mimeType"] = t.Served.MimeType })]),
    };

    private static JsonObject Usage(ToolUsage usage, CatalogSnapshot snapshot)
    {
        var served = new Dictionary<(string, string), string>();
        foreach (var (name, route) in snapshot.ToolRoutes)
        {
            if (route.Backend is { } backend)
            {
                served[(backend, route.OriginalName)] = name;
            }
        }

        return new JsonObject
        {
            ["tools"] = new JsonArray([.. usage.Snapshot().Select(u => new JsonObject
            {
                ["backend"] = u.Backend,
                ["tool"] = u.Tool,
                ["servedName"] = served.GetValueOrDefault((u.Backend, u.Tool)),
                ["calls"] = u.Calls,
                ["failures"] = u.Failures,
                ["failureRate"] = Math.Round(u.FailureRate, 4),
                ["averageMs"] = Math.Round(u.AverageMs, 2),
                ["lastCallAt"] = u.LastCallAt.ToString("O", CultureInfo.InvariantCulture),
            })]),
        };
    }

    private static JsonObject History(BackendRegistry registry)
    {
        var backends = new JsonArray();
        foreach (var config in registry.Config.Servers)
        {
            var points = new SortedDictionary<long, HistoryPoint>();
            foreach (var replica in registry.Live(config.Name)?.Replicas ?? [])
            {
                foreach (var point in replica.Stats.History())
                {
                    points[point.Slot] = points.TryGetValue(point.Slot, out var sum) ? sum.Plus(point) : point;
                }
            }

            backends.Add((JsonNode)new JsonObject
            {
                ["name"] = config.Name,
                ["points"] = new JsonArray([.. points.Values.Select(p => new JsonObject
                {
                    ["t"] = p.Start.ToUnixTimeMilliseconds(),
                    ["calls"] = p.Calls,
                    ["errors"] = p.Errors,
                    ["averageMs"] = p.AverageMs is { } avg ? Math.Round(avg, 2) : null,
                    ["maxMs"] = Math.Round(p.MaxMs, 2),
                })]),
            });
        }

        return new JsonObject
        {
            ["intervalSeconds"] = BackendStats.HistoryInterval.TotalSeconds,
            ["minutes"] = BackendStats.HistoryInterval.TotalMinutes * BackendStats.HistoryLength,
            ["backends"] = backends,
        };
    }

    private static IResult RecentEvents(HttpRequest request, EventLog events, bool errorsOnly)
    {
        if (!TryQueryNumber(request, "after", 0, long.MaxValue, 0, out var after, out var problem)
            || !TryQueryNumber(request, "limit", 1, EventLog.Capacity, errorsOnly ? 50 : 100, out var limit, out problem))
        {
            return problem!;
        }

        var found = events.Recent(after, (int)limit, errorsOnly ? e => e.IsError : null);
        return Json(new JsonObject { ["events"] = new JsonArray([.. found.Select(EventJson)]) });
    }

    /// <summary>One event as JSON (the API's lists and the event stream use the same shape).</summary>
    internal static JsonObject EventJson(ProxyEvent e) => new()
    {
        ["id"] = e.Id,
        ["at"] = e.At.ToString("O", CultureInfo.InvariantCulture),
        ["kind"] = JsonNamingPolicy.CamelCase.ConvertName(e.Kind.ToString()),
        ["backend"] = e.Backend,
        ["message"] = e.Message,
        ["state"] = e.State,
        ["error"] = e.IsError,
    };

    private static bool TryQueryNumber(HttpRequest request, string key, long min, long max, long fallback, out long value, out IResult? problem)
    {
        problem = null;
        value = fallback;
        if (!request.Query.TryGetValue(key, out var text) || string.IsNullOrEmpty(text))
        {
            return true;
        }

        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max)
        {
            return true;
        }

        problem = Error(StatusCodes.Status400BadRequest, $"'{key}' must be a whole number from {min} to {max}; got '{text}'.");
        return false;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Admin API {Method} {Path} failed")]
    private static partial void LogFailed(ILogger logger, string method, string path, Exception exception);
}
