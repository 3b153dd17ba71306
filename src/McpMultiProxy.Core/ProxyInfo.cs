using System.Reflection;

namespace McpMultiProxy;

/// <summary>The proxy's name and version as it introduces itself.</summary>
public static class ProxyInfo
{
    /// <summary>The product name.</summary>
    public const string Name = "mcp-multiproxy";

    /// <summary>The informational version of this build.</summary>
    public static string Version { get; } =
        typeof(ProxyInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0] ?? "0.0.0";
}
