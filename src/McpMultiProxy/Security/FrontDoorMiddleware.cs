using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace McpMultiProxy.Security;

/// <summary>
/// The HTTP front door, in front of everything on the listener (the MCP endpoint, the admin API, the web
/// console, metrics): Host check against DNS rebinding, Origin check (403), CORS only for allowed origins and
/// never with a wildcard, bearer token (401), body size (413), and for MCP messages well-formed JSON within
/// the depth limit and no batches (400 with a JSON-RPC error). Refusals are logged without request contents.
/// </summary>
internal sealed partial class FrontDoorMiddleware(RequestDelegate next, FrontDoorPolicy policy, ILogger<FrontDoorMiddleware> logger)
{
    private const string ExposedHeaders = "Mcp-Session-Id, Mcp-Protocol-Version, WWW-Authenticate";

    // JSON-RPC: the method's params are invalid.
    private const int InvalidParams = -32602;

    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        var (hostAllowed, hostExplicit) = policy.CheckHost(request.Host);
        if (!hostAllowed)
        {
            await RefuseAsync(context, StatusCodes.Status403Forbidden, JsonBodyGuard.InvalidRequest,
                $"Forbidden: the Host header '{Printable(request.Host.Value)}' is not allowed (DNS-rebinding protection). Use http://127.0.0.1 or localhost, or add the name to proxy.allowedHosts.").ConfigureAwait(false);
            return;
        }

        var origins = request.Headers.Origin;
        if (origins.Count > 0)
        {
            var origin = origins.Count == 1 ? origins[0] : null;
            if (!OriginPolicy.IsAllowed(origin, policy.AllowedOrigins, hostExplicit ? request.Host.Value : null))
            {
                await RefuseAsync(context, StatusCodes.Status403Forbidden, JsonBodyGuard.InvalidRequest,
                    $"Forbidden: requests from the web page origin '{Printable(origins.ToString())}' are not allowed. An operator can allow it with proxy.allowedOrigins.").ConfigureAwait(false);
                return;
            }

            var headers = context.Response.Headers;
            headers.AccessControlAllowOrigin = origin;
            headers.Vary = HeaderNames.Origin;
            headers.AccessControlExposeHeaders = ExposedHeaders;
            if (HttpMethods.IsOptions(request.Method) && request.Headers.ContainsKey(HeaderNames.AccessControlRequestMethod))
            {
                // A preflight carries no credentials; answer it before the token check, for allowed origins only.
                headers.AccessControlAllowMethods = "GET, POST, DELETE, OPTIONS";
                headers.AccessControlAllowHeaders = Tokens(request.Headers.AccessControlRequestHeaders.ToString());
                headers.AccessControlMaxAge = "600";
                context.Response.StatusCode = StatusCodes.Status204NoContent;
                return;
            }
        }

        if (policy.Token is { } token && !token.Matches(request.Headers.Authorization) && !policy.IsPublicFile(request))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            await RefuseAsync(context, StatusCodes.Status401Unauthorized, JsonBodyGuard.InvalidRequest,
                "Unauthorized: send the proxy's token as 'Authorization: Bearer <token>' (the token is in the file given with --token-file).").ConfigureAwait(false);
            return;
        }

        if (request.ContentLength > policy.MaxMessageBytes)
        {
            await RefuseTooLargeAsync(context).ConfigureAwait(false);
            return;
        }

        var isMessage = HttpMethods.IsPost(request.Method) && string.Equals(request.Path.Value, FrontDoorPolicy.McpPath, StringComparison.Ordinal);
        if (isMessage && !await BufferAndCheckAsync(context).ConfigureAwait(false))
        {
            return;
        }

        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (JsonException ex) when (isMessage && !context.Response.HasStarted)
        {
            // The SDK (2.3.1) reads some params (initialize's capabilities, clientInfo) outside its own error
            // handling: a wrong type there would be a 500. It is the client's mistake: say so, and where.
            await RefuseAsync(context, StatusCodes.Status400BadRequest, InvalidParams, $"Invalid params: a value has the wrong type{(ex.Path is { } path ? $" at {path}" : "")}.").ConfigureAwait(false);
        }
    }

    /// <summary>Reads the whole body (bounded by the size limit), checks it, and hands the SDK a copy in memory.</summary>
    private async Task<bool> BufferAndCheckAsync(HttpContext context)
    {
        // Kestrel's own limit (FrontDoor.ConfigureLimits) is already policy.MaxMessageBytes for every request.
        var request = context.Request;
        var buffer = new MemoryStream((int)Math.Min(request.ContentLength ?? 4096, policy.MaxMessageBytes));
        try
        {
            await request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await RefuseTooLargeAsync(context).ConfigureAwait(false);
            return false;
        }

        if (buffer.Length > policy.MaxMessageBytes)
        {
            // A server without its own limit: the check above is then the only one.
            await RefuseTooLargeAsync(context).ConfigureAwait(false);
            return false;
        }

        var bytes = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        if (JsonBodyGuard.Check(bytes.Span, policy.MaxJsonDepth) is { } problem)
        {
            await RefuseAsync(context, StatusCodes.Status400BadRequest, problem.Code, problem.Message).ConfigureAwait(false);
            return false;
        }

        buffer.Position = 0;
        request.Body = buffer;
        context.Response.RegisterForDispose(buffer);
        return true;
    }

    private Task RefuseTooLargeAsync(HttpContext context) =>
        RefuseAsync(context, StatusCodes.Status413PayloadTooLarge, JsonBodyGuard.InvalidRequest,
            $"Payload too large: a message may be at most {policy.MaxMessageBytes} bytes (proxy.maxMessageBytes).");

    private async Task RefuseAsync(HttpContext context, int status, int code, string message)
    {
        LogRefused(logger, context.Request.Method, Printable(context.Request.Path.Value), status, message);
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";

        // A JSON-RPC error, because MCP clients show error.message to people; id null because the request was not read.
        var body = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(body))
        {
            json.WriteStartObject();
            json.WriteString("jsonrpc", "2.0");
            json.WriteNull("id");
            json.WriteStartObject("error");
            json.WriteNumber("code", code);
            json.WriteString("message", message);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        await context.Response.Body.WriteAsync(body.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Only header-name characters survive: what is echoed back can never carry anything else.</summary>
    private static string Tokens(string requested) =>
        string.Join(", ", requested.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Where(h => h.Length <= 64 && h.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')));

    /// <summary>Client-supplied text as it may appear in a message or log: short and without control characters.</summary>
    private static string Printable(string? value)
    {
        var text = new string([.. (value ?? "").Take(100).Select(c => char.IsControl(c) ? '?' : c)]);
        return (value?.Length ?? 0) > 100 ? text + "…" : text;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Front door: {Method} {Path} refused with {Status}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string method, string path, int status, string reason);
}
