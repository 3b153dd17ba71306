using System.Globalization;
using Xunit;
using static McpMultiProxy.Tests.Infrastructure.McpTestClient;

namespace McpMultiProxy.Tests.Infrastructure;

/// <summary>Proves the fixtures: mcp-testserver as a streamable HTTP backend, driven by the SDK client.</summary>
public sealed class TestServerHttpTests
{
    [Fact]
    public async Task CallEchoAndAdd_AnswersOnLoopbackInAStatefulSession()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        await using var server = await TestServerProcess.StartAsync("--name", "beta");
        await using var client = await server.ConnectAsync(cancellationToken: cts.Token);

        var echo = await client.CallToolAsync("echo", Args(("text", "hi")), cancellationToken: cts.Token);
        var add = await client.CallToolAsync("add", Args(("a", 2), ("b", 3)), cancellationToken: cts.Token);

        Assert.Equal("127.0.0.1", server.Url.Host);
        Assert.Equal("beta: hi", Text(echo));
        Assert.Equal("beta: 5", Text(add));
        Assert.Equal(5, add.StructuredContent!.Value.GetProperty("sum").GetDouble());
        Assert.NotNull(client.SessionId);
    }

    [Fact]
    public async Task CrashAfter_AnswersNCallsThenExitsWithCode3()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        await using var server = await TestServerProcess.StartAsync("--name", "beta", "--crash-after", "1");
        await using var client = await server.ConnectAsync(cancellationToken: cts.Token);

        var only = await client.CallToolAsync("echo", Args(("text", "1")), cancellationToken: cts.Token);

        Assert.Equal("beta: 1", Text(only));
        Assert.Equal(3, await server.Process.WaitForExitAsync());
    }

    [Fact]
    public async Task SpawnChild_KillByHandle_KillsTheGrandchildToo()
    {
        await using var server = await TestServerProcess.StartAsync("--spawn-child");
        var line = await server.Process.WaitForLineAsync(l => l.StartsWith("CHILD_PID ", StringComparison.Ordinal));
        using var grandchild = System.Diagnostics.Process.GetProcessById(int.Parse(line["CHILD_PID ".Length..], CultureInfo.InvariantCulture));

        server.Kill();

        Assert.True(grandchild.WaitForExit(TimeSpan.FromSeconds(10)), "the grandchild outlived a tree kill");
    }
}
