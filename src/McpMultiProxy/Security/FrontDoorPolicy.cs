using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace McpMultiProxy.Security;

/// <summary>
/// What the HTTP front door lets in, decided once at start-up from the command line and the <c>proxy</c>
/// section: which Host headers (DNS-rebinding protection), which browser origins, whether a bearer token
/// is required, and how big and how deep a client's message may be.
/// </summary>
internal sealed record FrontDoorPolicy
{
    // AllowedHosts as the patterns HostString.MatchesAny takes, built once rather than per request.
    private readonly StringSegment[] _hostPatterns = [];

    /// <summary>Host patterns allowed (loopback names plus configured ones; <c>*.example.org</c> allowed).</summary>
    public required IReadOnlyList<string> AllowedHosts
    {
        get;
        init
        {
            field = value;
            _hostPatterns = [.. value.Select(h => new StringSegment(h))];
        }
    }

    /// <summary>
    /// True when any Host is accepted: listening on every interface with no <c>allowedHosts</c> configured, where
    /// the names clients use are unknown. Only ever with a token, which a rebinding page cannot know.
    /// </summary>
    public bool AnyHost { get; init; }

    /// <summary>Browser origins allowed besides the loopback ones.</summary>
    public IReadOnlyList<string> AllowedOrigins { get; init; } = [];

    /// <summary>The token clients must present, or null when none is required.</summary>
    public BearerToken? Token { get; init; }

    /// <summary>Where the token is kept (full path), or null.</summary>
    public string? TokenFile { get; init; }

    /// <summary>Largest request body, in bytes (413 beyond).</summary>
    public long MaxMessageBytes { get; init; } = SecuritySettings.DefaultMaxMessageBytes;

    /// <summary>Deepest JSON nesting of a message (400 beyond).</summary>
    public int MaxJsonDepth { get; init; } = SecuritySettings.DefaultMaxJsonDepth;

    /// <summary>The MCP endpoint's path, whose POST bodies are JSON-RPC messages.</summary>
    public const string McpPath = "/mcp";

    /// <summary>
    /// Paths a GET may load without the token: the web console's page and static files (<c>/</c> exactly, and what is
    /// under <c>/console/</c>). They hold no data; the console then calls the API with the token (<c>/#token=...</c>).
    /// </summary>
    private static readonly string[] PublicFiles = ["/", "/console/"];

    /// <summary>True when <paramref name="request"/> only loads one of the <see cref="PublicFiles"/>.</summary>
    public bool IsPublicFile(HttpRequest request)
    {
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            return false;
        }

        var path = request.Path.Value ?? "";
        return PublicFiles.Any(p => p == "/" ? path == "/" : path.StartsWith(p, StringComparison.Ordinal) && path.Length > p.Length && !path.Contains("..", StringComparison.Ordinal));
    }

    /// <summary>Whether <paramref name="host"/> may be served, and whether it matched an explicit allow entry (not just <see cref="AnyHost"/>).</summary>
    public (bool Allowed, bool Explicit) CheckHost(HostString host)
    {
        if (!host.HasValue)
        {
            return (false, false);
        }

        var matched = HostString.MatchesAny(new StringSegment(host.Value), _hostPatterns);
        return (matched || AnyHost, matched);
    }
}
