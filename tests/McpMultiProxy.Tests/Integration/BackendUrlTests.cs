using McpMultiProxy.Tests.Infrastructure;
using Xunit;
using static McpMultiProxy.Tests.Infrastructure.McpTestClient;

namespace McpMultiProxy.Tests.Integration;

/// <summary><c>--backend-url</c>, the single-server flag of the first prototype, behind the stdio frontend.</summary>
public sealed class BackendUrlTests
{
    [Fact]
    public async Task BackendUrl_StdioFrontend_ServesOneServerNamedMain()
    {
        using var cts = new CancellationTokenSource(ProxyClient.LongTimeout);
        await using var backend = await TestServerProcess.StartAsync("--name", "solo");
        await using var proxy = await ProxyProcess.StartStdioAsync(["--backend-url", backend.Url.ToString()], cancellationToken: cts.Token);
        var client = proxy.Client!;

        var tools = await client.WaitForToolsAsync("main__echo");
        var echo = await client.CallToolAsync("main__echo", Args(("text", "via the old flag")), cancellationToken: cts.Token);
        var main = await client.ServerStatusAsync("main", cts.Token);
        var list = await client.ManageOkAsync(cts.Token, ("action", "list"));

        Assert.All(tools.Except(ProxyClient.ProxyToolNames), t => Assert.StartsWith("main__", t, StringComparison.Ordinal));
        Assert.Equal("solo: via the old flag", Text(echo));
        Assert.Equal("healthy", main.State());
        Assert.Equal(backend.Url.ToString(), main.GetProperty("target").GetString());
        Assert.Equal(["main"], list.StructuredContent!.Value.GetProperty("servers").EnumerateArray().Select(s => s.GetProperty("name").GetString()));
    }
}
