using McpMultiProxy.Tests.Infrastructure;
using ModelContextProtocol;
using Xunit;
using static McpMultiProxy.Tests.Infrastructure.McpTestClient;

namespace McpMultiProxy.Tests.Admin;

/// <summary>/metrics, scraped from a real proxy after real calls.</summary>
public sealed class MetricsTests
{
    [Fact]
    public async Task Scrape_AfterCalls_CountsCallsErrorsLatencyStateRestartsAndClients()
    {
        using var cts = new CancellationTokenSource(TestTimeout * 2);
        using var dir = new TempDirectory();
        await using var alpha = await TestServerProcess.StartAsync("--name", "alpha");
        var config = dir.WriteFile("mcp.json", System.Text.Json.JsonSerializer.Serialize(new
        {
            mcpServers = new Dictionary<string, object>
            {
                ["alpha"] = new { url = alpha.Url.ToString() },
                ["beta"] = new { command = TestServerCommand.Command, args = TestServerCommand.Arguments("--name", "beta", "--crash-after", "1") },
            },
        }));
        await using var proxy = await ProxyProcess.StartHttpAsync(["--config", config], cts.Token);
        using var api = new AdminApiClient(proxy);
        await api.WaitForStateAsync("alpha", "healthy");
        await api.WaitForStateAsync("beta", "healthy");
        // An initialize-era client: it holds a session, so it counts as connected (a 2026-07-28 client is served statelessly).
        await using var client = await proxy.ConnectAsync(NewOptions("2025-11-25"), cts.Token);

        for (var i = 0; i < 3; i++)
        {
            await client.CallToolAsync("alpha__echo", Args(("text", "hi")), cancellationToken: cts.Token);
        }

        await client.CallToolAsync("alpha__fail", cancellationToken: cts.Token);
        await Assert.ThrowsAsync<McpProtocolException>(async () => await client.CallToolAsync("alpha__throw", cancellationToken: cts.Token));
        await client.GetPromptAsync("alpha__greet", new Dictionary<string, object?> { ["name"] = "Ada" }, cancellationToken: cts.Token);

        // beta answers one call, then exits with code 3: the proxy restarts it.
        await client.CallToolAsync("beta__echo", Args(("text", "last words")), cancellationToken: cts.Token);
        await proxy.WaitForLineAsync(l => l.Contains("beta", StringComparison.Ordinal) && l.Contains("exited with code 3", StringComparison.Ordinal));

        // The exit is logged a moment before the proxy acts on it: wait for the restart itself.
        await api.WaitForStateAsync("beta", "healthy", minRestarts: 1);

        var metrics = new PrometheusText(await api.Http.GetStringAsync("/metrics", cts.Token));

        string[] echo = ["backend=alpha", "method=tools/call", "tool=echo"];
        Assert.Equal(3, metrics.Value("mcpproxy_calls_total", echo));
        Assert.Equal(3, metrics.Value("mcpproxy_call_duration_seconds_count", echo));
        Assert.Equal(3, metrics.Value("mcpproxy_call_duration_seconds_bucket", [.. echo, "le=+Inf"]));
        Assert.InRange(metrics.Value("mcpproxy_call_duration_seconds_sum", echo), 1e-6, 10);
        Assert.Empty(metrics.Find("mcpproxy_errors_total", echo));
        Assert.Equal(1, metrics.Value("mcpproxy_calls_total", "backend=alpha", "tool=fail"));
        Assert.Equal(1, metrics.Value("mcpproxy_errors_total", "backend=alpha", "tool=fail", "error_type=tool_error"));
        Assert.Equal(1, metrics.Value("mcpproxy_errors_total", "backend=alpha", "tool=throw", "error_type=error"));
        Assert.Equal(1, metrics.Value("mcpproxy_calls_total", "backend=alpha", "method=prompts/get"));
        Assert.Equal(1, metrics.Value("mcpproxy_calls_total", "backend=beta", "tool=echo"));

        Assert.Equal(1, metrics.Value("mcpproxy_backend_state", "backend=alpha", "state=healthy"));
        Assert.Equal(0, metrics.Value("mcpproxy_backend_state", "backend=alpha", "state=unhealthy"));
        Assert.Equal(1, metrics.Value("mcpproxy_backend_state", "backend=beta", "state=healthy"));
        Assert.Equal(0, metrics.Value("mcpproxy_backend_restarts_total", "backend=alpha"));
        Assert.Equal(1, metrics.Value("mcpproxy_backend_restarts_total", "backend=beta"));
        Assert.Equal(0, metrics.Value("mcpproxy_calls_in_flight", "backend=alpha"));
        Assert.Equal(1, metrics.Value("mcpproxy_clients_connected"));

        // Disabling shows at the next scrape.
        await api.PostAsync("/api/backends/alpha/disable");
        var after = new PrometheusText(await api.Http.GetStringAsync("/metrics", cts.Token));
        Assert.Equal(1, after.Value("mcpproxy_backend_state", "backend=alpha", "state=disabled"));
        Assert.Equal(3, after.Value("mcpproxy_calls_total", echo));
    }
}
