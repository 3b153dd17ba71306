using ModelContextProtocol.Client;
using Xunit;

namespace McpMultiProxy.Tests.Infrastructure;

/// <summary>
/// The npm reference server <c>@modelcontextprotocol/server-everything</c>, pinned in tests/package.json and
/// installed by <c>npm ci --prefix tests</c>. It speaks MCP up to 2025-11-25 (TypeScript SDK 1.x).
/// </summary>
public static class ServerEverything
{
    // Static initializers run in textual order: this one is used by MissingReason below.
    private static readonly string? NodePath = TestPaths.FindOnPath("node");

    /// <summary>tests/node_modules/@modelcontextprotocol/server-everything/dist/index.js.</summary>
    public static string EntryPoint { get; } = Path.Combine(
        TestPaths.TestsDirectory, "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js");

    /// <summary>node, from PATH.</summary>
    public static string Command => NodePath ?? "node";

    /// <summary>Arguments for a stdio backend: <c>[EntryPoint, "stdio"]</c>.</summary>
    public static IList<string> StdioArguments => [EntryPoint, "stdio"];

    /// <summary>Why it cannot run here (then tests skip with this message), or null.</summary>
    public static string? MissingReason { get; } =
        NodePath is null ? "node is not on PATH; server-everything tests need Node.js 20+."
        : !File.Exists(EntryPoint) ? $"server-everything is not installed ({EntryPoint} missing): run 'npm ci --prefix tests' from the repository root."
        : null;

    /// <summary>An SDK stdio transport that starts server-everything.</summary>
    public static StdioClientTransport CreateStdioTransport() =>
        new(new StdioClientTransportOptions
        {
            Name = "server-everything",
            Command = Command,
            Arguments = StdioArguments,
            ShutdownTimeout = ChildProcess.StdioShutdownTimeout,
        });

    /// <summary>
    /// Starts server-everything in streamable HTTP mode on a free port bound to 127.0.0.1 only. By itself it
    /// listens on every interface at $PORT; tests/loopback-only.mjs (a <c>node --import</c> preload) pins it to
    /// loopback and prints the port it got for PORT=0.
    /// </summary>
    public static async Task<ServerEverythingHttp> StartHttpAsync()
    {
        var process = ChildProcess.Start(
            Command,
            ["--import", Path.Combine(TestPaths.TestsDirectory, "loopback-only.mjs"), EntryPoint, "streamableHttp"],
            new Dictionary<string, string?> { ["PORT"] = "0" });
        try
        {
            var line = await process.WaitForLineAsync(l => l.StartsWith("LISTENING ", StringComparison.Ordinal));
            return new ServerEverythingHttp(process, new Uri(line["LISTENING ".Length..] + "/mcp"));
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }
}

/// <summary>A running server-everything in streamable HTTP mode.</summary>
public sealed class ServerEverythingHttp(ChildProcess process, Uri url) : IAsyncDisposable
{
    /// <summary>The MCP endpoint, <c>http://127.0.0.1:&lt;port&gt;/mcp</c>.</summary>
    public Uri Url { get; } = url;

    public ChildProcess Process { get; } = process;

    public ValueTask DisposeAsync() => Process.DisposeAsync();
}

/// <summary>A fact that is skipped, saying why, when server-everything cannot run here.</summary>
public sealed class ServerEverythingFactAttribute : FactAttribute
{
    public ServerEverythingFactAttribute() => Skip = ServerEverything.MissingReason;
}
