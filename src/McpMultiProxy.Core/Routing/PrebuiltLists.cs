using System.Text.Json.Nodes;
using McpMultiProxy.Catalog;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpMultiProxy.Routing;

/// <summary>
/// Serves the four list methods from pages serialised once per catalog snapshot: an incoming message filter answers
/// <c>tools/list</c>, <c>prompts/list</c>, <c>resources/list</c> and <c>resources/templates/list</c> with the prebuilt
/// JSON text instead of letting the SDK turn the result object into a node tree and then into bytes for every request
/// (with 50 backends × 20 tools that was most of the time a list took).
/// </summary>
/// <remarks>
/// Only for sessions of the protocol eras before 2026-07-28: on that revision the SDK stamps per-request fields
/// (<c>resultType</c>, <c>ttlMs</c>, <c>cacheScope</c>, the server's identity in <c>_meta</c>) onto each result, so
/// those requests take the SDK's handler path, with a fresh result object each time.
/// </remarks>
public static class PrebuiltLists
{
    /// <summary>The filter, for <see cref="McpMessageFilters.IncomingFilters"/>.</summary>
    public static McpMessageFilter Filter(ProxyCatalog catalog) => next => (context, cancellationToken) =>
    {
        if (context.JsonRpcMessage is not JsonRpcRequest
            {
                Method: RequestMethods.ToolsList or RequestMethods.PromptsList or RequestMethods.ResourcesList or RequestMethods.ResourcesTemplatesList,
            } request)
        {
            return next(context, cancellationToken);
        }

        var cursor = Cursor(request);
        if (!ProtocolRevisions.ClientIsBeforeJuly2026(request, context.Server))
        {
            return next(context, cancellationToken);
        }

        var page = catalog.ForCursor(cursor).SerializedPage(request.Method, cursor);

        // The filter's server is bound to the transport the request came on (the POST's stream over HTTP): the answer goes there.
        return context.Server.SendMessageAsync(new JsonRpcResponse { Id = request.Id, Result = page.NewNode() }, cancellationToken);
    };

    /// <summary>
    /// The request's cursor, if any. A cursor that is not a string is refused here for every era (the SDK would answer
    /// "An error occurred" without saying what).
    /// </summary>
    private static string? Cursor(JsonRpcRequest request)
    {
        if (request.Params is null)
        {
            return null;
        }

        if (request.Params is not JsonObject parameters)
        {
            throw new McpProtocolException($"{request.Method} takes an object of params (with an optional 'cursor' string), not {request.Params.GetValueKind()}.", McpErrorCode.InvalidParams);
        }

        if (!parameters.TryGetPropertyValue("cursor", out var value) || value is null)
        {
            return null;
        }

        return value is JsonValue text && text.TryGetValue<string>(out var cursor)
            ? cursor
            : throw new McpProtocolException($"Invalid cursor: it must be the string a previous {request.Method} answer gave as 'nextCursor'.", McpErrorCode.InvalidParams);
    }
}
