using System.Text.Json;
using System.Text.Json.Nodes;
using McpMultiProxy.Backends;
using McpMultiProxy.Catalog;
using McpMultiProxy.Health;
using McpMultiProxy.Management;
using McpMultiProxy.Telemetry;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpMultiProxy.Routing;

/// <summary>
/// The proxy's MCP request handlers: lists are served from the catalog snapshot; calls, prompt gets,
/// resource reads, completions and subscriptions are routed to the owning backend with its own names.
/// This is the one boundary where backend failures become MCP errors that name the backend and the reason.
/// </summary>
public sealed class ProxyHandlers(ProxyCatalog catalog, BackendRegistry registry, ManagementService management, ClientSessions clients, ProxyTelemetry? telemetry = null)
{
    /// <summary><c>tools/list</c> (sessions before 2026-07-28 are answered by <see cref="PrebuiltLists"/> instead).</summary>
    public ValueTask<ListToolsResult> ListToolsAsync(RequestContext<ListToolsRequestParams> request, CancellationToken cancellationToken) =>
        new(catalog.ForCursor(request.Params?.Cursor).ToolsPage(request.Params?.Cursor));

    /// <summary>
    /// <c>tools/call</c> through the SDK's alternate-result seam: for a client and a backend both before the
    /// 2026-07-28 revision, the backend's result is relayed as the node it was read into (see
    /// <see cref="RelayedToolResult"/>); every other call is typed as by <see cref="CallToolAsync(CallToolRequestParams, McpServer?, CancellationToken)"/>.
    /// The SDK's tool-call pipeline around it is the same either way (an exception that is not a protocol error
    /// becomes an <c>isError</c> result; on 2026-07-28 the SDK stamps <c>resultType</c> on the typed result).
    /// </summary>
    public async ValueTask<ResultOrAlternate<CallToolResult>> CallToolWithAlternateAsync(RequestContext<CallToolRequestParams> request, CancellationToken cancellationToken)
    {
        var p = request.Params ?? throw new McpProtocolException("tools/call needs params with a tool name.", McpErrorCode.InvalidParams);
        if (!ProtocolRevisions.ClientIsBeforeJuly2026(request.JsonRpcRequest, request.Server)
            || !catalog.Current.ToolRoutes.TryGetValue(p.Name, out var route)
            || route.Backend is null)
        {
            return await CallToolAsync(p, request.Server, cancellationToken).ConfigureAwait(false);
        }

        var relayed = await ForwardAsync<CallToolRequestParams, RelayedToolResult>(route.Backend, RequestMethods.ToolsCall, Forwarded(route, p), request.Server, route.Retryable, cancellationToken, route.OriginalName)
            .ConfigureAwait(false);

        return relayed.Typed ?? ResultOrAlternate<CallToolResult>.FromAlternate(relayed, RelayedToolResult.TypeInfo);
    }

    /// <summary>
    /// Calls a served tool by its served name, as <c>tools/call</c> does; <paramref name="caller"/> is the client session
    /// making the call, or null for a call made by the proxy itself (the admin API).
    /// </summary>
    public async ValueTask<CallToolResult> CallToolAsync(CallToolRequestParams p, McpServer? caller, CancellationToken cancellationToken)
    {
        if (!catalog.Current.ToolRoutes.TryGetValue(p.Name, out var route))
        {
            throw OwnerUnavailable(p.Name)
                ?? new McpProtocolException($"Unknown tool '{p.Name}'. Call tools/list to see the tools served (names are 'server__tool').", McpErrorCode.InvalidParams);
        }

        if (route.Backend is null)
        {
            return await management.InvokeAsync(p.Name, p.Arguments, cancellationToken).ConfigureAwait(false);
        }

        return await ForwardAsync<CallToolRequestParams, CallToolResult>(route.Backend, RequestMethods.ToolsCall, Forwarded(route, p), caller, route.Retryable, cancellationToken, route.OriginalName)
            .ConfigureAwait(false);
    }

    /// <summary>A tool call as it goes to the owning backend: the tool's own name, the arguments, the client's own <c>_meta</c>.</summary>
    private static CallToolRequestParams Forwarded(ToolRoute route, CallToolRequestParams p) =>
        new() { Name = route.OriginalName, Arguments = p.Arguments, Meta = ForwardMeta(p.Meta) };

    /// <summary><c>prompts/list</c>.</summary>
    public ValueTask<ListPromptsResult> ListPromptsAsync(RequestContext<ListPromptsRequestParams> request, CancellationToken cancellationToken) =>
        new(catalog.ForCursor(request.Params?.Cursor).PromptsPage(request.Params?.Cursor));

    /// <summary><c>prompts/get</c>.</summary>
    public async ValueTask<GetPromptResult> GetPromptAsync(RequestContext<GetPromptRequestParams> request, CancellationToken cancellationToken)
    {
        var p = request.Params ?? throw new McpProtocolException("prompts/get needs params with a prompt name.", McpErrorCode.InvalidParams);
        if (!catalog.Current.PromptRoutes.TryGetValue(p.Name, out var route))
        {
            throw OwnerUnavailable(p.Name)
                ?? new McpProtocolException($"Unknown prompt '{p.Name}'. Call prompts/list to see the prompts served.", McpErrorCode.InvalidParams);
        }

        var forwarded = new GetPromptRequestParams { Name = route.OriginalName, Arguments = p.Arguments, Meta = ForwardMeta(p.Meta) };
        return await ForwardAsync<GetPromptRequestParams, GetPromptResult>(route.Backend, RequestMethods.PromptsGet, forwarded, request.Server, true, cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary><c>resources/list</c>.</summary>
    public ValueTask<ListResourcesResult> ListResourcesAsync(RequestContext<ListResourcesRequestParams> request, CancellationToken cancellationToken) =>
        new(catalog.ForCursor(request.Params?.Cursor).ResourcesPage(request.Params?.Cursor));

    /// <summary><c>resources/templates/list</c>.</summary>
    public ValueTask<ListResourceTemplatesResult> ListResourceTemplatesAsync(RequestContext<ListResourceTemplatesRequestParams> request, CancellationToken cancellationToken) =>
        new(catalog.ForCursor(request.Params?.Cursor).TemplatesPage(request.Params?.Cursor));

    /// <summary><c>resources/read</c>.</summary>
    public async ValueTask<ReadResourceResult> ReadResourceAsync(RequestContext<ReadResourceRequestParams> request, CancellationToken cancellationToken)
    {
        var p = request.Params ?? throw new McpProtocolException("resources/read needs params with a uri.", McpErrorCode.InvalidParams);
        var route = FindResource(p.Uri);
        var forwarded = new ReadResourceRequestParams { Uri = route.OriginalUri, Meta = ForwardMeta(p.Meta) };
        var result = await ForwardAsync<ReadResourceRequestParams, ReadResourceResult>(route.Backend, RequestMethods.ResourcesRead, forwarded, request.Server, true, cancellationToken)
            .ConfigureAwait(false);
        if (route.OriginalUri != p.Uri)
        {
            foreach (var content in result.Contents)
            {
                if (content.Uri == route.OriginalUri)
                {
                    content.Uri = p.Uri;
                }
            }
        }

        return result;
    }

    /// <summary><c>resources/subscribe</c>: the first client to subscribe makes the proxy subscribe at the backend.</summary>
    public async ValueTask<EmptyResult> SubscribeAsync(RequestContext<SubscribeRequestParams> request, CancellationToken cancellationToken)
    {
        var p = request.Params ?? throw new McpProtocolException("resources/subscribe needs params with a uri.", McpErrorCode.InvalidParams);
        await SubscribeAsync(p.Uri, request.Server, default, cancellationToken).ConfigureAwait(false);
        return new EmptyResult();
    }

    /// <summary><c>resources/unsubscribe</c>: the last client to leave makes the proxy unsubscribe at the backend.</summary>
    public async ValueTask<EmptyResult> UnsubscribeAsync(RequestContext<UnsubscribeRequestParams> request, CancellationToken cancellationToken)
    {
        var p = request.Params ?? throw new McpProtocolException("resources/unsubscribe needs params with a uri.", McpErrorCode.InvalidParams);
        await UnsubscribeAsync(p.Uri, request.Server, cancellationToken).ConfigureAwait(false);
        return new EmptyResult();
    }

    /// <summary>
    /// <c>subscriptions/listen</c> (2026-07-28 clients): acknowledges, then holds the stream open and delivers the
    /// list changes and resource updates it asked for, until the client cancels or disconnects.
    /// </summary>
    public async ValueTask<EmptyResult> ListenAsync(RequestContext<SubscriptionsListenRequestParams> request, CancellationToken cancellationToken)
    {
        var requested = request.Params?.Notifications ?? new SubscriptionsListenNotifications();
        var granted = new SubscriptionsListenNotifications
        {
            ToolsListChanged = requested.ToolsListChanged == true ? true : null,
            PromptsListChanged = requested.PromptsListChanged == true ? true : null,
            ResourcesListChanged = requested.ResourcesListChanged == true ? true : null,
            ResourceSubscriptions = requested.ResourceSubscriptions is { Count: > 0 } uris ? [.. uris.Where(u => catalog.Current.FindResource(u) is not null)] : null,
        };
        var id = request.JsonRpcRequest.Id;
        var stream = request.Server;
        clients.AddListener(stream, id, granted);
        var subscribed = new List<string>();
        try
        {
            foreach (var uri in granted.ResourceSubscriptions ?? [])
            {
                await SubscribeAsync(uri, stream, id, cancellationToken).ConfigureAwait(false);
                subscribed.Add(uri);
            }

            // Acknowledged once everything is in place, so nothing that happens after the client hears it is missed.
            await clients.SendTaggedAsync(
                stream,
                id,
                NotificationMethods.SubscriptionsAcknowledgedNotification,
                JsonSerializer.SerializeToNode(new SubscriptionsAcknowledgedNotificationParams { Notifications = granted }, McpJsonUtilities.DefaultOptions.GetTypeInfo<SubscriptionsAcknowledgedNotificationParams>())).ConfigureAwait(false);

            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            clients.RemoveListener(stream, id, granted);
            foreach (var uri in subscribed)
            {
                await UnsubscribeAsync(uri, stream, CancellationToken.None).ConfigureAwait(false);
            }
        }

        return new EmptyResult();
    }

    private async Task SubscribeAsync(string uri, McpServer subscriber, RequestId subscriptionId, CancellationToken cancellationToken)
    {
        var route = FindResource(uri);
        if (clients.Subscribe(uri, subscriber, subscriptionId))
        {
            await ForwardAsync<SubscribeRequestParams, EmptyResult>(route.Backend, RequestMethods.ResourcesSubscribe, new SubscribeRequestParams { Uri = route.OriginalUri }, null, true, cancellationToken)
                .ConfigureAwait(false);
        }
    }

    private async Task UnsubscribeAsync(string uri, McpServer subscriber, CancellationToken cancellationToken)
    {
        if (clients.Unsubscribe(uri, subscriber) && catalog.Current.FindResource(uri) is { } route && registry.Live(route.Backend) is not null)
        {
            try
            {
                await ForwardAsync<UnsubscribeRequestParams, EmptyResult>(route.Backend, RequestMethods.ResourcesUnsubscribe, new UnsubscribeRequestParams { Uri = route.OriginalUri }, null, true, cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (McpProtocolException)
            {
                // The backend is gone or refuses: nothing is subscribed there any more either way.
            }
        }
    }

    /// <summary><c>completion/complete</c> for namespaced prompts and resource templates.</summary>
    public async ValueTask<CompleteResult> CompleteAsync(RequestContext<CompleteRequestParams> request, CancellationToken cancellationToken)
    {
        var p = request.Params ?? throw new McpProtocolException("completion/complete needs params.", McpErrorCode.InvalidParams);
        string backend;
        Reference reference;
        switch (p.Ref)
        {
            case PromptReference prompt when catalog.Current.PromptRoutes.TryGetValue(prompt.Name, out var route):
                backend = route.Backend;
                reference = new PromptReference { Name = route.OriginalName };
                break;
            case ResourceTemplateReference template when catalog.Current.Templates.FirstOrDefault(t => t.Served.UriTemplate == template.Uri) is { } owner:
                backend = owner.Backend;
                reference = new ResourceTemplateReference { Uri = owner.OriginalTemplate };
                break;
            default:
                // Nothing to complete for a reference no backend owns: an empty answer, as the spec allows.
                return new CompleteResult();
        }

        var forwarded = new CompleteRequestParams { Ref = reference, Argument = p.Argument, Context = p.Context, Meta = ForwardMeta(p.Meta) };
        return await ForwardAsync<CompleteRequestParams, CompleteResult>(backend, RequestMethods.CompletionComplete, forwarded, request.Server, true, cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// For a name that is not served now but carries the prefix of a configured server that cannot serve (disabled,
    /// starting, down): the error that names that server and the reason. Its tools are withdrawn while it is down,
    /// so without this a client that still holds the name would only hear "unknown tool".
    /// </summary>
    private McpProtocolException? OwnerUnavailable(string servedName)
    {
        var config = registry.Config;
        var separator = config.Settings.Separator;
        var owner = config.Servers
            .Where(s => servedName.Length > s.Name.Length + separator.Length && servedName.StartsWith(s.Name + separator, StringComparison.Ordinal))
            .MaxBy(s => s.Name.Length);
        if (owner is null)
        {
            return null;
        }

        var backend = registry.Live(owner.Name);
        var reason = backend is null ? "it is disabled; enable it with the manage tool (action 'enable')."
            : backend.State.IsReady() ? null
            : backend.DescribeUnavailable();
        return reason is null ? null : new McpProtocolException($"Server '{owner.Name}' is unavailable: {reason}", McpErrorCode.InternalError);
    }

    /// <summary>
    /// The client's <c>_meta</c> as it may reach a backend: its own keys (progress token, tracing, app data) pass;
    /// the protocol's reserved <c>io.modelcontextprotocol/*</c> keys describe the client's session with the proxy
    /// (its protocol era, capabilities, log level) and must not be mistaken for the proxy's session with the backend.
    /// With no reserved key the caller's object is forwarded as it is (the backend session clones it before it
    /// changes the progress token); only a <c>_meta</c> that loses keys is copied.
    /// </summary>
    internal static JsonObject? ForwardMeta(JsonObject? meta)
    {
        if (meta is null || meta.Count == 0)
        {
            return null;
        }

        var reserved = false;
        foreach (var (key, _) in meta)
        {
            if (key.StartsWith("io.modelcontextprotocol/", StringComparison.Ordinal))
            {
                reserved = true;
                break;
            }
        }

        if (!reserved)
        {
            return meta;
        }

        JsonObject? copy = null;
        foreach (var (key, value) in meta)
        {
            if (!key.StartsWith("io.modelcontextprotocol/", StringComparison.Ordinal))
            {
                (copy ??= [])[key] = value?.DeepClone();
            }
        }

        return copy;
    }

    /// <summary>
    /// A backend's JSON-RPC error goes to the client as the backend sent it, without the SDK's "Request failed
    /// (remote)" prefix. Codes that describe the proxy's own session with the backend (protocol version,
    /// capabilities, headers) would mislead the client about its session with the proxy, so they become internal
    /// errors that name the backend.
    /// </summary>
    private static McpProtocolException PassThrough(string backend, McpProtocolException ex)
    {
        const string Prefix = "Request failed (remote): ";
        var message = ex.Message.StartsWith(Prefix, StringComparison.Ordinal) ? ex.Message[Prefix.Length..] : ex.Message;
        return ex.ErrorCode is McpErrorCode.MissingRequiredClientCapability or McpErrorCode.UnsupportedProtocolVersion or McpErrorCode.HeaderMismatch
            ? new McpProtocolException($"Server '{backend}' refused the request: {message}", McpErrorCode.InternalError)
            : new McpProtocolException(message, ex.ErrorCode);
    }

    private ResourceRoute FindResource(string uri) =>
        catalog.Current.FindResource(uri)
            ?? throw new McpProtocolException($"Unknown resource '{uri}': no server behind the proxy lists it. Call resources/list or resources/templates/list.", McpErrorCode.ResourceNotFound);

    private async Task<TResult> ForwardAsync<TParams, TResult>(
        string backendName, string method, TParams parameters, McpServer? caller, bool retryable, CancellationToken cancellationToken, string? tool = null)
        where TParams : RequestParams
        where TResult : notnull
    {
        var backend = registry.Live(backendName)
            ?? throw new McpProtocolException($"Server '{backendName}' is unavailable: it is disabled or was removed.", McpErrorCode.InternalError);
        var call = telemetry?.Start(backendName, method, tool) ?? default;
        try
        {
            var result = await backend.SendAsync<TParams, TResult>(method, parameters, caller, retryable, cancellationToken).ConfigureAwait(false);
            if ((result as CallToolResult ?? (result as RelayedToolResult)?.Typed) is { IsError: true } failed)
            {
                call.Complete(CallStatus.ToolError, ProxyTelemetry.ErrorText(failed));
            }
            else if (result is RelayedToolResult { IsError: true } relayed)
            {
                call.Complete(CallStatus.ToolError, relayed.FirstText() ?? ProxyTelemetry.NoErrorText);
            }
            else
            {
                call.Complete(CallStatus.Ok);
            }

            return result;
        }
        catch (BackendUnavailableException ex)
        {
            call.Complete(CallStatus.Unavailable, ex.Message);
            throw new McpProtocolException(ex.Message, McpErrorCode.InternalError);
        }
        catch (McpProtocolException ex)
        {
            call.Complete(CallStatus.Error, ex.Message);
            throw PassThrough(backendName, ex);
        }
        catch (BackendTimeoutException ex)
        {
            call.Complete(CallStatus.Timeout, ex.Message);
            throw new McpProtocolException(ex.Message, McpErrorCode.InternalError);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            call.Complete(CallStatus.Cancelled);
            throw;
        }
        catch (Exception ex)
        {
            call.Complete(CallStatus.Error, ex.Message);
            throw;
        }
    }
}
