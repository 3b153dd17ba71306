using System.Reflection;

namespace McpMultiProxy.Tests.Infrastructure;

/// <summary>Where the things the tests launch live. The paths are baked in at build time (see the .csproj).</summary>
public static class TestPaths
{
    /// <summary>The repository root (the folder holding McpMultiProxy.slnx).</summary>
    public static string RepoRoot { get; } = Metadata("RepoRoot");

    /// <summary>The tests folder; <c>npm ci --prefix tests</c> installs the reference servers under it.</summary>
    public static string TestsDirectory { get; } = Path.Combine(RepoRoot, "tests");

    /// <summary>mcp-testserver.dll, built from tests/McpMultiProxy.TestServer.</summary>
    public static string TestServerDll { get; } = Metadata("mcp-testserver");

    /// <summary>mcp-multiproxy.dll, built from src/McpMultiProxy.</summary>
    public static string ProxyDll { get; } = Metadata("mcp-multiproxy");

    /// <summary>
    /// The dotnet host that runs this test process (so children use the same runtime), else <c>dotnet</c> on PATH.
    /// </summary>
    public static string DotNetHost { get; } = FindDotNetHost();

    /// <summary>Full path of an executable found on PATH, or null.</summary>
    public static string? FindOnPath(string name)
    {
        var extensions = OperatingSystem.IsWindows() ? new[] { ".exe", ".cmd", "" } : new[] { "" };
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var extension in extensions)
            {
                var candidate = Path.Combine(directory, name + extension);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    private static string FindDotNetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath))
        {
            return hostPath;
        }

        if (Environment.ProcessPath is { } processPath && Path.GetFileNameWithoutExtension(processPath) == "dotnet")
        {
            return processPath;
        }

        return FindOnPath("dotnet") ?? "dotnet";
    }

    private static string Metadata(string key) =>
        typeof(TestPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException($"The test assembly has no [AssemblyMetadata(\"{key}\")]; rebuild McpMultiProxy.Tests.");
}
