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
    /// <summary>Host names every listener answers to: the loopback ones (any port).</summary>
    public static readonly IReadOnlyList<string> LoopbackHosts = ["localhost", "127.0.0.1", "[::1]"];

    /// <summary>Host patterns allowed (loopback names plus configured ones; <c>*.example.org</c> allowed).</summary>
    public required IReadOnlyList<string> AllowedHosts { get; init; }

    /// <summary>
    /// True when any Host is accepted: listening on every interface with no <c>allowedHosts</c> configured, where
    /// the names clients use are unknown. Only ever with a token, which a rebinding page cannot know.
    /// </summary>
    public bool AnyHost { get; init; }

    /// <summary>Browser origins allowed besides the loopback ones.</summary>
    public IReadOnlyList<string> AllowedOrigins { get; init; } = [];

    /// <summary>The token clients must present, or null when none is required.</summary>
    public BearerToken? Token { get; init; }

    /// <summary>Largest request body, in bytes (413 beyond).</summary>
    public long MaxMessageBytes { get; init; } = SecuritySettings.DefaultMaxMessageBytes;

    /// <summary>Deepest JSON nesting of a message (400 beyond).</summary>
    public int MaxJsonDepth { get; init; } = SecuritySettings.DefaultMaxJsonDepth;

    /// <summary>The MCP endpoint's path, whose POST bodies are JSON-RPC messages.</summary>
    public PathString McpPath { get; init; } = "/mcp";

    /// <summary>Whether <paramref name="host"/> may be served, and whether it matched an explicit allow entry (not just <see cref="AnyHost"/>).</summary>
    public (bool Allowed, bool Explicit) CheckHost(HostString host)
    {
        if (!host.HasValue)
        {
            return (false, false);
        }

        var patterns = AllowedHosts.Select(h => new StringSegment(h)).ToList();
        var matched = HostString.MatchesAny(new StringSegment(host.Value), patterns);
        return (matched || AnyHost, matched);
    }
}
