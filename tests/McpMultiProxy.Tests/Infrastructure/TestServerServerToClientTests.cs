using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Xunit;
using static McpMultiProxy.Tests.Infrastructure.McpTestClient;

namespace McpMultiProxy.Tests.Infrastructure;

/// <summary>Proves the fixtures: what mcp-testserver sends unasked (requests, notifications), on both transports.</summary>
public sealed class TestServerServerToClientTests
{
    [Theory]
    [InlineData("stdio")]
    [InlineData("http")]
    public async Task Sample_IsAnsweredByTheClientSamplingHandler(string transport)
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        await using var connection = await ConnectAsync(transport, SamplingOptions("sampled"), cts.Token);

        var result = await connection.Client.CallToolAsync("sample", Args(("prompt", "hello")), cancellationToken: cts.Token);

        Assert.Equal("delta: sampled to 'hello'", Text(result));
    }

    [Theory]
    [InlineData("stdio")]
    [InlineData("http")]
    public async Task ChangeTools_SendsToolListChanged_AndListsTheNewTool(string transport)
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        // In a 2026-07-28 session the SDK sends list_changed only on a subscriptions/listen stream the client
        // opened; an initialize-handshake session gets it broadcast. Pin the handshake era.
        await using var connection = await ConnectAsync(transport, new McpClientOptions { ProtocolVersion = "2025-11-25" }, cts.Token);
        var listChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var registration = connection.Client.RegisterNotificationHandler(
            NotificationMethods.ToolListChangedNotification,
            (_, _) =>
            {
                listChanged.TrySetResult();
                return ValueTask.CompletedTask;
            });

        var result = await connection.Client.CallToolAsync("change_tools", cancellationToken: cts.Token);
        await listChanged.Task.WaitAsync(cts.Token);
        var tools = await connection.Client.ListToolsAsync(cancellationToken: cts.Token);

        Assert.Equal("delta: added added_1", Text(result));
        Assert.Contains(tools, t => t.Name == "added_1");
    }

    [Fact]
    public async Task Bump_SendsResourceUpdatedToSubscribers()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        await using var connection = await ConnectAsync("stdio", new McpClientOptions { ProtocolVersion = "2025-11-25" }, cts.Token);
        var updated = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await connection.Client.SubscribeToResourceAsync(
            "test://delta/counter",
            (notification, _) =>
            {
                updated.TrySetResult(notification.Uri);
                return ValueTask.CompletedTask;
            },
            cancellationToken: cts.Token);

        await connection.Client.CallToolAsync("bump", cancellationToken: cts.Token);

        Assert.Equal("test://delta/counter", await updated.Task.WaitAsync(cts.Token));
        var counter = await connection.Client.ReadResourceAsync("test://delta/counter", cancellationToken: cts.Token);
        Assert.Equal("delta: counter=1", Assert.IsType<TextResourceContents>(Assert.Single(counter.Contents)).Text);
    }

    private static async Task<Connection> ConnectAsync(string transport, McpClientOptions options, CancellationToken cancellationToken)
    {
        if (transport == "stdio")
        {
            return new Connection(null, await TestServerCommand.ConnectStdioAsync(["--name", "delta"], options, cancellationToken: cancellationToken));
        }

        var server = await TestServerProcess.StartAsync("--name", "delta");
        try
        {
            return new Connection(server, await server.ConnectAsync(options, cancellationToken));
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private sealed record Connection(TestServerProcess? Server, McpClient Client) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            if (Server is not null)
            {
                await Server.DisposeAsync();
            }
        }
    }
}
