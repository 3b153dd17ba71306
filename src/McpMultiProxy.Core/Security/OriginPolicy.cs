namespace McpMultiProxy.Security;

/// <summary>
/// Decides which browser origins may call the proxy. A web page on another site must never drive a local
/// MCP endpoint (the MCP Inspector class of bugs), so only loopback origins are allowed by default, and
/// everything else is compared exactly, after normalisation, never by prefix or suffix.
/// </summary>
public static class OriginPolicy
{
    /// <summary>The loopback host names (as in a Host header or an origin): <c>localhost</c>, <c>127.0.0.1</c>, <c>[::1]</c>.</summary>
    public static readonly IReadOnlyList<string> LoopbackHosts = ["localhost", "127.0.0.1", "[::1]"];

    /// <summary>
    /// <c>scheme://host[:port]</c> in lower case (default port left out), or null when <paramref name="origin"/>
    /// is not a plain http(s) origin (<c>null</c>, a path, user info, a query, another scheme).
    /// </summary>
    public static string? Normalize(string? origin)
    {
        // '?', '#', '@' and a backslash never appear in a real origin; they are how look-alikes get past lenient parsers.
        if (string.IsNullOrWhiteSpace(origin)
            || origin.AsSpan().IndexOfAny("?#@\\") >= 0
            || !Uri.TryCreate(origin.Trim(), UriKind.Absolute, out var uri)
            || uri.Scheme is not ("http" or "https")
            || uri.PathAndQuery != "/")
        {
            return null;
        }

        var host = uri.Host.ToLowerInvariant();
        return uri.IsDefaultPort ? $"{uri.Scheme}://{host}" : $"{uri.Scheme}://{host}:{uri.Port}";
    }

    /// <summary>True when <paramref name="origin"/> is http(s) on localhost, 127.0.0.1 or [::1], with any port.</summary>
    public static bool IsLoopback(string? origin) =>
        Normalize(origin) is { } normalized && LoopbackHosts.Contains(new Uri(normalized).Host, StringComparer.Ordinal);

    /// <summary>
    /// True when <paramref name="origin"/> may call: a loopback origin, one of <paramref name="allowed"/>, or the
    /// proxy's own origin (<paramref name="sameOriginHost"/>, the request's Host when that was explicitly allowed).
    /// </summary>
    public static bool IsAllowed(string? origin, IReadOnlyCollection<string> allowed, string? sameOriginHost = null)
    {
        if (Normalize(origin) is not { } normalized)
        {
            return false;
        }

        if (IsLoopback(normalized) || allowed.Any(a => Normalize(a) == normalized))
        {
            return true;
        }

        if (sameOriginHost is null)
        {
            return false;
        }

        var uri = new Uri(normalized);
        var authority = uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port}";
        return string.Equals(authority, sameOriginHost, StringComparison.OrdinalIgnoreCase);
    }
}
