namespace McpMultiProxy.Configuration;

/// <summary>When backend names are put in front of tool and prompt names.</summary>
public enum PrefixMode
{
    /// <summary>Always <c>backend__tool</c>: served names never change when another backend is added.</summary>
    Always,

    /// <summary>Only names that two backends share get the prefix.</summary>
    OnConflict,

    /// <summary>Never; a name two backends share is served by the first and the clash is reported.</summary>
    Never,
}

/// <summary>The <c>proxy</c> section of the config file.</summary>
public sealed record ProxySettings
{
    /// <summary>Between backend name and tool name.</summary>
    public string Separator { get; init; } = "__";

    /// <summary>When the prefix is used.</summary>
    public PrefixMode Prefix { get; init; } = PrefixMode.Always;

    /// <summary>Seconds between active health pings.</summary>
    public double HealthIntervalSeconds { get; init; } = 30;

    /// <summary>Seconds a ping may take before it counts as failed.</summary>
    public double HealthTimeoutSeconds { get; init; } = 10;

    /// <summary>Default per-call timeout in seconds (progress resets it, up to <see cref="MaxCallTimeoutSeconds"/>).</summary>
    public double CallTimeoutSeconds { get; init; } = 120;

    /// <summary>Hard maximum for one call, whatever progress it reports.</summary>
    public double MaxCallTimeoutSeconds { get; init; } = 900;

    /// <summary>Seconds a backend may take to start and answer the handshake.</summary>
    public double ConnectTimeoutSeconds { get; init; } = 30;

    /// <summary>
    /// Seconds a backend that stopped serving keeps its tools listed (calls get a clear "unavailable" error), so a
    /// blip that heals within them does not churn the clients' tool lists.
    /// </summary>
    public double WithdrawGraceSeconds { get; init; } = 5;

    /// <summary>On shutdown, seconds calls in flight may take to finish before they are cancelled.</summary>
    public double ShutdownGraceSeconds { get; init; } = 5;

    /// <summary>Whether <c>manage add</c> through MCP may start programs (stdio backends). Off by default.</summary>
    public bool AllowStdioAdd { get; init; }

    /// <summary>Items per page of the lists served to clients (tools, prompts, resources); the proxy's own cursors page through the rest.</summary>
    public int PageSize { get; init; } = 500;

    /// <summary>Protocol version to speak to backends by default.</summary>
    public string BackendProtocolVersion { get; init; } = "2025-11-25";

    /// <summary>Allowed commands, tool pinning, and the limits and allow lists of the HTTP front door.</summary>
    public Security.SecuritySettings Security { get; init; } = McpMultiProxy.Security.SecuritySettings.Default;

    /// <summary>Default settings.</summary>
    public static ProxySettings Default { get; } = new();
}

/// <summary>The whole configuration: backends in order, and proxy settings.</summary>
public sealed record ProxyConfig(IReadOnlyList<BackendConfig> Servers, ProxySettings Settings)
{
    /// <summary>No backends, default settings.</summary>
    public static ProxyConfig Empty { get; } = new([], ProxySettings.Default);

    /// <summary>The backend of that name, or null.</summary>
    public BackendConfig? Find(string name) => Servers.FirstOrDefault(s => s.Name == name);
}
