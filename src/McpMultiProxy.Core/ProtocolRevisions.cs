using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpMultiProxy;

/// <summary>
/// The protocol revision where the proxy's behaviour forks, on both sides (the SDK's own helpers for this are
/// internal). Revisions are dates, so an ordinal comparison orders them.
/// </summary>
internal static class ProtocolRevisions
{
    /// <summary>2026-07-28: no initialize handshake or sessions, per-request metadata, list changes on <c>subscriptions/listen</c>.</summary>
    public const string July2026 = "2026-07-28";

    /// <summary>Whether <paramref name="version"/> is 2026-07-28 or later (false for none).</summary>
    public static bool IsJuly2026OrLater(string? version) => version is not null && string.CompareOrdinal(version, July2026) >= 0;

    /// <summary>
    /// Whether a client's request was made under a known revision before 2026-07-28: the request's own (2026-07-28
    /// requests carry it), else the session's negotiated one. False when neither is known.
    /// </summary>
    public static bool ClientIsBeforeJuly2026(JsonRpcRequest request, McpServer server) =>
        (request.Context?.ProtocolVersion ?? server.NegotiatedProtocolVersion) is { } version && !IsJuly2026OrLater(version);
}
