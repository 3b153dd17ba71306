using System.Collections.Immutable;

namespace McpMultiProxy.Security;

/// <summary>
/// The security part of the <c>proxy</c> section: what <c>manage</c> may start, tool pinning, and the limits
/// and allow lists of the HTTP front door. Every default is the safe one.
/// </summary>
public sealed record SecuritySettings
{
    /// <summary>Default largest message a client may send (an HTTP request body or a stdio line): 4 MiB.</summary>
    public const long DefaultMaxMessageBytes = 4 * 1024 * 1024;

    /// <summary>Default largest message a backend may send (a stdio line, an HTTP response or SSE event): 16 MiB.</summary>
    public const long DefaultMaxBackendMessageBytes = 16 * 1024 * 1024;

    /// <summary>Default deepest JSON nesting accepted from a client (System.Text.Json's own default).</summary>
    public const int DefaultMaxJsonDepth = 64;

    /// <summary>
    /// Commands <c>manage add</c> may start even without <see cref="Configuration.ProxySettings.AllowStdioAdd"/>,
    /// matched exactly as written (e.g. <c>npx</c>, <c>uvx</c>, or an absolute path).
    /// </summary>
    public ImmutableArray<string> AllowedCommands { get; init; } = [];

    /// <summary>Default for every backend's <c>pinTools</c>: withhold a tool whose definition changed since first seen.</summary>
    public bool PinTools { get; init; }

    /// <summary>Browser origins allowed besides the loopback ones (<c>http(s)://localhost|127.0.0.1|[::1]</c>, any port).</summary>
    public ImmutableArray<string> AllowedOrigins { get; init; } = [];

    /// <summary>Host header values allowed besides the loopback names (<c>*.example.org</c> patterns allowed).</summary>
    public ImmutableArray<string> AllowedHosts { get; init; } = [];

    /// <summary>File holding the bearer token clients must send over HTTP; created (mode 0600) when missing.</summary>
    public string? TokenFile { get; init; }

    /// <summary>Largest message a client may send, in bytes.</summary>
    public long MaxMessageBytes { get; init; } = DefaultMaxMessageBytes;

    /// <summary>Largest message a backend may send, in bytes; a longer one is dropped (the call it answers fails).</summary>
    public long MaxBackendMessageBytes { get; init; } = DefaultMaxBackendMessageBytes;

    /// <summary>Deepest JSON nesting a client may send.</summary>
    public int MaxJsonDepth { get; init; } = DefaultMaxJsonDepth;

    /// <summary>The safe defaults.</summary>
    public static SecuritySettings Default { get; } = new();

    /// <inheritdoc/>
    public bool Equals(SecuritySettings? other) =>
        other is not null && PinTools == other.PinTools && TokenFile == other.TokenFile
        && MaxMessageBytes == other.MaxMessageBytes && MaxJsonDepth == other.MaxJsonDepth && MaxBackendMessageBytes == other.MaxBackendMessageBytes
        && Same(AllowedCommands, other.AllowedCommands) && Same(AllowedOrigins, other.AllowedOrigins) && Same(AllowedHosts, other.AllowedHosts);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(PinTools, TokenFile, MaxMessageBytes, MaxJsonDepth, AllowedCommands.Length);

    private static bool Same(ImmutableArray<string> a, ImmutableArray<string> b) => a.AsSpan().SequenceEqual(b.AsSpan());
}
