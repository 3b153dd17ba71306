using System.Text.Json;
using McpMultiProxy.Tests.Infrastructure;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Xunit;
using static McpMultiProxy.Tests.Infrastructure.McpTestClient;

namespace McpMultiProxy.Tests.Integration;

/// <summary>What the integration tests ask the proxy through an SDK client: its tools, its status, and waits for a state.</summary>
internal static class ProxyClient
{
    /// <summary>
    /// Upper bound for one integration test, and for waits on a backend to connect, fail or recover. Generous: the
    /// machine is shared, and a reconnect waits out the proxy's backoff (1 s doubling).
    /// </summary>
    public static readonly TimeSpan LongTimeout = TimeSpan.FromSeconds(120);

    /// <summary>The proxy's own tools, served beside the backends' tools.</summary>
    public static readonly string[] ProxyToolNames = ["manage", "proxy_status", "proxy_health"];

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>The names in <c>tools/list</c>.</summary>
    public static async Task<IReadOnlySet<string>> ToolNamesAsync(this McpClient client, CancellationToken cancellationToken) =>
        (await client.ListToolsAsync(cancellationToken: cancellationToken)).Select(t => t.Name).ToHashSet(StringComparer.Ordinal);

    /// <summary>Calls <c>manage</c> with the given arguments.</summary>
    public static Task<CallToolResult> ManageAsync(this McpClient client, CancellationToken cancellationToken, params (string Name, object? Value)[] arguments) =>
        client.CallToolAsync("manage", Args(arguments), cancellationToken: cancellationToken).AsTask();

    /// <summary>Calls <c>manage</c> and asserts that it succeeded.</summary>
    public static async Task<CallToolResult> ManageOkAsync(this McpClient client, CancellationToken cancellationToken, params (string Name, object? Value)[] arguments)
    {
        var result = await client.ManageAsync(cancellationToken, arguments);
        Assert.False(result.IsError == true, $"manage {string.Join(", ", arguments.Select(a => $"{a.Name}={a.Value}"))} failed: {Text(result)}");
        return result;
    }

    /// <summary>One server's entry in <c>proxy_status</c>'s structuredContent (name, state, lastError, tools, ...).</summary>
    public static async Task<JsonElement> ServerStatusAsync(this McpClient client, string name, CancellationToken cancellationToken)
    {
        var result = await client.CallToolAsync("proxy_status", Args(("name", name)), cancellationToken: cancellationToken);
        Assert.False(result.IsError == true, $"proxy_status {name} failed: {Text(result)}");
        return Assert.Single(result.StructuredContent!.Value.GetProperty("servers").EnumerateArray());
    }

    /// <summary>The <c>state</c> of a server status entry: starting, healthy, degraded, unhealthy or disabled.</summary>
    public static string State(this JsonElement server) => server.GetProperty("state").GetString()!;

    /// <summary>The <c>lastError</c> of a server status entry, or null.</summary>
    public static string? LastError(this JsonElement server) =>
        server.TryGetProperty("lastError", out var error) && error.ValueKind == JsonValueKind.String ? error.GetString() : null;

    /// <summary>Waits until the server reaches <paramref name="state"/>; returns its status then.</summary>
    public static Task<JsonElement> WaitForStateAsync(this McpClient client, string name, string state, TimeSpan? timeout = null) =>
        client.WaitForServerAsync(name, s => s.State() == state, $"state '{state}'", timeout);

    /// <summary>
    /// Waits until the server's status satisfies <paramref name="condition"/> (polls <c>proxy_status</c>; there is no
    /// notification for every state change, e.g. starting → unhealthy changes no list).
    /// </summary>
    public static async Task<JsonElement> WaitForServerAsync(this McpClient client, string name, Func<JsonElement, bool> condition, string what, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? LongTimeout);
        JsonElement last = default;
        try
        {
            while (true)
            {
                last = await client.ServerStatusAsync(name, cts.Token);
                if (condition(last))
                {
                    return last;
                }

                await Task.Delay(PollInterval, cts.Token);
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"Server '{name}' did not reach {what} within {timeout ?? LongTimeout}; last status: {last}");
        }
    }

    /// <summary>Waits until <c>tools/list</c> satisfies <paramref name="condition"/>; returns the names then.</summary>
    public static async Task<IReadOnlySet<string>> WaitForToolsAsync(this McpClient client, Func<IReadOnlySet<string>, bool> condition, string what, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? LongTimeout);
        IReadOnlySet<string> last = new HashSet<string>();
        try
        {
            while (true)
            {
                last = await client.ToolNamesAsync(cts.Token);
                if (condition(last))
                {
                    return last;
                }

                await Task.Delay(PollInterval, cts.Token);
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"tools/list did not show {what} within {timeout ?? LongTimeout}; last: {string.Join(", ", last.Order(StringComparer.Ordinal))}");
        }
    }

    /// <summary>Waits until every one of <paramref name="names"/> is served.</summary>
    public static Task<IReadOnlySet<string>> WaitForToolsAsync(this McpClient client, params string[] names) =>
        client.WaitForToolsAsync(tools => names.All(tools.Contains), string.Join(", ", names));
}
