using System.Text.Json;
using System.Text.Json.Nodes;
using McpMultiProxy.Tests.Infrastructure;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Xunit;
using static McpMultiProxy.Tests.Infrastructure.McpTestClient;

namespace McpMultiProxy.Tests.Integration;

/// <summary>
/// The end-to-end session of the foundation issue, step by step: two servers, tools/list, a call routed to each,
/// manage add → list → disable → enable → remove, then one server killed: proxy_health reports it while calls to the
/// other still succeed. Set MCP_MULTIPROXY_TRANSCRIPT=/path to get the session as a transcript.
/// </summary>
public sealed class WalkthroughTests
{
    [Fact]
    public async Task Walkthrough_TwoServersManageThenOneKilled_EveryStepAnswersAsExpected()
    {
        using var cts = new CancellationTokenSource(ProxyClient.LongTimeout);
        using var directory = new TempDirectory();
        var transcript = new Transcript();
        var starts = new[] { "alpha", "beta", "gamma" }.Select(n => TestServerProcess.StartAsync("--name", n)).ToList();
        await using var alpha = await starts[0];
        await using var beta = await starts[1];
        await using var gamma = await starts[2];
        var config = TestConfig.Write(
            directory,
            new JsonObject { ["alpha"] = TestConfig.Http(alpha.Url), ["beta"] = TestConfig.Http(beta.Url) },
            TestConfig.FastHealth());

        transcript.Step("The proxy starts with two servers (mcp-testserver over HTTP), serving HTTP");
        transcript.Sent($"mcp-multiproxy --config mcp.json --http 127.0.0.1:0    # mcp.json: {File.ReadAllText(config).ReplaceLineEndings(" ").Replace("  ", "", StringComparison.Ordinal)}");
        await using var proxy = await ProxyProcess.StartHttpAsync(["--config", config]);
        await using var client = await proxy.ConnectAsync(NewOptions("2025-11-25"), cts.Token);
        var tools = await client.WaitForToolsAsync("alpha__echo", "beta__echo");
        transcript.Got(string.Join('\n', proxy.StderrLines.Where(l => l.StartsWith(ProxyProcess.EndpointMarker, StringComparison.Ordinal) || l.Contains("server(s):", StringComparison.Ordinal)).Select(l => $"stderr: {l}")));
        Assert.Contains(proxy.StderrLines, l => l.EndsWith("2 server(s): alpha, beta", StringComparison.Ordinal));

        transcript.Step("tools/list through the proxy");
        transcript.Sent("tools/list");
        transcript.Got($"{tools.Count} tools: {string.Join(", ", tools.Order(StringComparer.Ordinal))}");
        Assert.Superset(new HashSet<string>(["alpha__echo", "beta__echo", .. ProxyClient.ProxyToolNames]), tools.ToHashSet());

        transcript.Step("One call routed to each server");
        Assert.Equal("alpha: hello alpha", await CallAsync("alpha__echo", ("text", "hello alpha")));
        Assert.Equal("beta: hello beta", await CallAsync("beta__echo", ("text", "hello beta")));

        transcript.Step("manage add → list → disable → enable → remove");
        Assert.StartsWith("Added server 'gamma'", await CallAsync("manage", ("action", "add"), ("name", "gamma"), ("url", gamma.Url.ToString())), StringComparison.Ordinal);
        await client.WaitForStateAsync("gamma", "healthy");
        Assert.Equal("gamma: hi", await CallAsync("gamma__echo", ("text", "hi")));
        Assert.StartsWith("3 server(s)", await CallAsync("manage", ("action", "list")), StringComparison.Ordinal);
        Assert.StartsWith("Disabled server 'gamma'", await CallAsync("manage", ("action", "disable"), ("name", "gamma")), StringComparison.Ordinal);
        Assert.Contains("it is disabled", await CallErrorAsync("gamma__echo", ("text", "hi")), StringComparison.Ordinal);
        Assert.StartsWith("Enabled server 'gamma'", await CallAsync("manage", ("action", "enable"), ("name", "gamma")), StringComparison.Ordinal);
        await client.WaitForToolsAsync("gamma__echo");
        Assert.Equal("gamma: back", await CallAsync("gamma__echo", ("text", "back")));
        Assert.StartsWith("Removed server 'gamma'", await CallAsync("manage", ("action", "remove"), ("name", "gamma")), StringComparison.Ordinal);
        Assert.StartsWith("2 server(s)", await CallAsync("manage", ("action", "list")), StringComparison.Ordinal);

        transcript.Step($"beta is killed (pid {beta.Pid}); proxy_health once the proxy has noticed; calls to alpha still succeed");
        beta.Kill();
        await beta.Process.WaitForExitAsync();
        await client.WaitForStateAsync("beta", "unhealthy");
        var health = await CallAsync("proxy_health");
        Assert.StartsWith("1/2 servers healthy", health, StringComparison.Ordinal);
        Assert.Matches(@"\nbeta: unhealthy(, avg [0-9.]+ ms)? — \S", health);
        Assert.Equal("alpha: still here", await CallAsync("alpha__echo", ("text", "still here")));
        Assert.Equal(42, JsonSerializer.Deserialize<JsonElement>(await CallStructuredAsync("alpha__add", ("a", 40), ("b", 2))).GetProperty("sum").GetDouble());
        Assert.Contains("Server 'beta' is unavailable: ", await CallErrorAsync("beta__echo", ("text", "anyone?")), StringComparison.Ordinal);

        transcript.Save();

        async Task<CallToolResult> SendAsync(string tool, (string Name, object? Value)[] arguments)
        {
            transcript.Sent($"tools/call {tool} {JsonSerializer.Serialize(Args(arguments))}");
            var result = await client.CallToolAsync(tool, Args(arguments), cancellationToken: cts.Token);
            transcript.Got((result.IsError == true ? "isError: " : "") + Text(result));
            return result;
        }

        async Task<string> CallAsync(string tool, params (string Name, object? Value)[] arguments)
        {
            var result = await SendAsync(tool, arguments);
            Assert.False(result.IsError == true, Text(result));
            return Text(result);
        }

        async Task<string> CallStructuredAsync(string tool, params (string Name, object? Value)[] arguments)
        {
            var result = await SendAsync(tool, arguments);
            transcript.Got($"structuredContent: {result.StructuredContent}");
            return result.StructuredContent!.Value.GetRawText();
        }

        async Task<string> CallErrorAsync(string tool, params (string Name, object? Value)[] arguments)
        {
            transcript.Sent($"tools/call {tool} {JsonSerializer.Serialize(Args(arguments))}");
            var error = await Assert.ThrowsAsync<McpProtocolException>(async () => await client.CallToolAsync(tool, Args(arguments), cancellationToken: cts.Token));
            transcript.Got($"JSON-RPC error {(int)error.ErrorCode}: {error.Message}");
            return error.Message;
        }
    }
}
