using McpMultiProxy.Tests.Infrastructure;
using Xunit;
using static McpMultiProxy.Tests.Infrastructure.McpTestClient;

namespace McpMultiProxy.Tests.Integration;

/// <summary>A proxy with no servers at all still starts and serves its own tools.</summary>
public sealed class NoBackendsTests
{
    [Fact]
    public async Task Start_NoServers_ServesOnlyTheProxyTools()
    {
        using var cts = new CancellationTokenSource(ProxyClient.LongTimeout);
        await using var proxy = await ProxyProcess.StartStdioAsync([], cancellationToken: cts.Token);
        var client = proxy.Client!;

        var tools = await client.ToolNamesAsync(cts.Token);
        var prompts = await client.ListPromptsAsync(cancellationToken: cts.Token);
        var resources = await client.ListResourcesAsync(cancellationToken: cts.Token);
        var health = await client.CallToolAsync("proxy_health", cancellationToken: cts.Token);
        var list = await client.ManageOkAsync(cts.Token, ("action", "list"));
        var healthAll = await client.ManageOkAsync(cts.Token, ("action", "health"));

        Assert.Equal(ProxyClient.ProxyToolNames.Order(StringComparer.Ordinal), tools.Order(StringComparer.Ordinal));
        Assert.Empty(prompts);
        Assert.Empty(resources);
        Assert.Equal("0/0 servers healthy", Text(health));
        Assert.Equal(0, health.StructuredContent!.Value.GetProperty("summary").GetProperty("total").GetInt32());
        Assert.StartsWith("0 server(s)", Text(list), StringComparison.Ordinal);
        Assert.Empty(list.StructuredContent!.Value.GetProperty("servers").EnumerateArray());
        Assert.StartsWith("Health check of 0 server(s)", Text(healthAll), StringComparison.Ordinal);
        Assert.Contains(proxy.StderrLines, l => l.Contains("0 server(s): none yet", StringComparison.Ordinal));
    }
}
