using System.Text.Json.Nodes;
using McpMultiProxy.Tests.Infrastructure;
using McpMultiProxy.Tests.Integration;
using Xunit;
using static McpMultiProxy.Tests.Infrastructure.McpTestClient;

namespace McpMultiProxy.Tests.Lifecycle;

/// <summary>A proxy that goes quiet gives memory back, and serves on as before.</summary>
public sealed class IdleMemoryTests
{
    [Fact]
    public async Task Quiet_AfterStartUpAndCalls_GivesMemoryBackAndServesOn()
    {
        using var cts = new CancellationTokenSource(ProxyClient.LongTimeout);
        using var directory = new TempDirectory();
        var config = TestConfig.Write(directory, new JsonObject { ["alpha"] = TestConfig.TestServerStdio("--name", "alpha") });
        await using var proxy = await ProxyProcess.StartStdioAsync(["--config", config, "--log-level", "Debug"], cancellationToken: cts.Token);
        var client = proxy.Client!;
        await client.WaitForStateAsync("alpha", "healthy");
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal($"alpha: {i}", Text(await client.CallToolAsync("alpha__echo", Args(("text", $"{i}")), cancellationToken: cts.Token)));
        }

        // The first check interval (5 s) holds start-up and the calls; at the first quiet one it gives memory back.
        var line = await proxy.WaitForLineAsync(l => l.Contains("Quiet: gave memory back", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        Assert.Contains("MiB of clean file mappings", line, StringComparison.Ordinal);

        // Code unmapped by the trim faults back in: everything still works.
        Assert.Equal("alpha: after", Text(await client.CallToolAsync("alpha__echo", Args(("text", "after")), cancellationToken: cts.Token)));
        Assert.Contains("alpha__echo", await client.ToolNamesAsync(cts.Token));
        Assert.StartsWith("1/1 servers healthy", Text(await client.CallToolAsync("proxy_health", cancellationToken: cts.Token)), StringComparison.Ordinal);
    }
}
