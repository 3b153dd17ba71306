using System.Collections.Immutable;

namespace McpMultiProxy.Configuration;

/// <summary>How the proxy reaches a backend.</summary>
public enum BackendTransport
{
    /// <summary>A command the proxy starts as a child process, speaking MCP on stdin/stdout.</summary>
    Stdio,

    /// <summary>Streamable HTTP, falling back to legacy SSE when the server only speaks that.</summary>
    Http,

    /// <summary>Legacy HTTP+SSE only.</summary>
    Sse,
}

/// <summary>How calls are spread over a backend's replicas.</summary>
public enum LoadBalancingMode
{
    /// <summary>Each call goes to the next healthy replica in turn.</summary>
    RoundRobin,

    /// <summary>Each call goes to the healthy replica with the fewest calls in flight.</summary>
    LeastOutstanding,

    /// <summary>Each call goes to the first healthy replica in the order listed.</summary>
    Failover,
}

/// <summary>Allow and deny lists of glob patterns (<c>*</c>, <c>?</c>) for a backend's tools, prompts or resources.</summary>
public sealed record NameFilter(ImmutableArray<string> Allow, ImmutableArray<string> Deny)
{
    /// <summary>A filter that lets everything through.</summary>
    public static NameFilter All { get; } = new([], []);

    /// <summary>True when there is nothing to filter.</summary>
    public bool IsEmpty => Allow.IsDefaultOrEmpty && Deny.IsDefaultOrEmpty;

    /// <summary>True when <paramref name="name"/> passes: matched by an allow pattern (or there are none) and by no deny pattern.</summary>
    public bool Permits(string name)
    {
        if (!Allow.IsDefaultOrEmpty && !Allow.Any(p => Glob.IsMatch(p, name)))
        {
            return false;
        }

        return Deny.IsDefaultOrEmpty || !Deny.Any(p => Glob.IsMatch(p, name));
    }

    /// <inheritdoc/>
    public bool Equals(NameFilter? other) =>
        other is not null && Allow.AsSpan().SequenceEqual(other.Allow.AsSpan()) && Deny.AsSpan().SequenceEqual(other.Deny.AsSpan());

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Allow.Length, Deny.Length);
}

/// <summary>
/// One backend as configured: immutable data, edited with <c>with</c>. Values are kept as written
/// (<c>${env:NAME}</c> unexpanded) so that saving never writes a secret into the file.
/// </summary>
public sealed record BackendConfig
{
    /// <summary>The backend's name: the namespace of its tools and prompts.</summary>
    public required string Name { get; init; }

    /// <summary>How it is reached.</summary>
    public BackendTransport Transport { get; init; }

    /// <summary>Stdio: the program to start.</summary>
    public string? Command { get; init; }

    /// <summary>Stdio: its arguments (passed as an array; no shell is involved).</summary>
    public ImmutableArray<string> Args { get; init; } = [];

    /// <summary>Stdio: environment variables given to the child, values as written.</summary>
    public ImmutableSortedDictionary<string, string> Env { get; init; } = ImmutableSortedDictionary<string, string>.Empty;

    /// <summary>Stdio: working directory.</summary>
    public string? Cwd { get; init; }

    /// <summary>HTTP/SSE: the endpoint(s). More than one makes replicas of one backend.</summary>
    public ImmutableArray<string> Urls { get; init; } = [];

    /// <summary>HTTP/SSE: extra request headers, values as written.</summary>
    public ImmutableSortedDictionary<string, string> Headers { get; init; } = ImmutableSortedDictionary<string, string>.Empty;

    /// <summary>False keeps the backend configured but disconnected and out of the catalog.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>How calls are spread over replicas.</summary>
    public LoadBalancingMode LoadBalancing { get; init; } = LoadBalancingMode.RoundRobin;

    /// <summary>Per-call timeout; null uses the proxy default.</summary>
    public double? TimeoutSeconds { get; init; }

    /// <summary>Which of the backend's tools are served.</summary>
    public NameFilter Tools { get; init; } = NameFilter.All;

    /// <summary>Which of the backend's prompts are served.</summary>
    public NameFilter Prompts { get; init; } = NameFilter.All;

    /// <summary>Which of the backend's resources (by URI) are served.</summary>
    public NameFilter Resources { get; init; } = NameFilter.All;

    /// <summary>Protocol version to speak to this backend; null uses the proxy default.</summary>
    public string? ProtocolVersion { get; init; }

    /// <summary>
    /// True gives each client its own session to this backend (for stateful servers such as browser automation),
    /// closed when the client's session ends or idles out. False (the default) shares one warm session.
    /// </summary>
    public bool PerClientSessions { get; init; }

    /// <summary>A note for people; shown in status.</summary>
    public string? Description { get; init; }

    /// <summary>Whether this backend's tool definitions are pinned (rug-pull protection); null uses <c>proxy.pinTools</c>.</summary>
    public bool? PinTools { get; init; }

    /// <summary>The replica endpoints: one per URL for HTTP, one for stdio.</summary>
    public int ReplicaCount => Transport == BackendTransport.Stdio ? 1 : Math.Max(1, Urls.Length);

    /// <summary>The target shown to people: the command line or the URL(s). Never includes env or header values.</summary>
    public string DisplayTarget => Transport == BackendTransport.Stdio
        ? string.Join(' ', new[] { Command ?? "" }.Concat(Redaction.RedactArgs(Args)))
        : string.Join(", ", Urls.Select(Redaction.RedactUrl));

    /// <summary>True when the connection-relevant settings are identical (the backend need not reconnect).</summary>
    public bool SameConnectionAs(BackendConfig other) =>
        Transport == other.Transport && Command == other.Command && Cwd == other.Cwd && ProtocolVersion == other.ProtocolVersion
        && PerClientSessions == other.PerClientSessions
        && Args.AsSpan().SequenceEqual(other.Args.AsSpan()) && Urls.AsSpan().SequenceEqual(other.Urls.AsSpan())
        && Env.SequenceEqual(other.Env) && Headers.SequenceEqual(other.Headers);

    /// <inheritdoc/>
    public bool Equals(BackendConfig? other) =>
        other is not null && Name == other.Name && SameConnectionAs(other) && Enabled == other.Enabled
        && LoadBalancing == other.LoadBalancing && TimeoutSeconds == other.TimeoutSeconds && Tools.Equals(other.Tools)
        && Prompts.Equals(other.Prompts) && Resources.Equals(other.Resources) && Description == other.Description
        && PinTools == other.PinTools;

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Name, Transport, Command);
}
