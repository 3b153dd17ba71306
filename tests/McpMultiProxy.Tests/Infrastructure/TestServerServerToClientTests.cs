using System.Text.Json;
using ModelContextProtocol;
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
    [InlineData(null)] // 2026-07-28: the SDK carries elicitation and roots as input_required round trips
    [InlineData("2025-11-25")] // server-to-client requests
    public async Task ElicitRootsAndLog_ReachTheClient(string? protocolVersion)
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        var options = NewOptions(protocolVersion);
        options.Handlers.ElicitationHandler = (request, _) => ValueTask.FromResult(new ElicitResult
        {
            Action = "accept",
            Content = new Dictionary<string, JsonElement> { ["answer"] = JsonSerializer.SerializeToElement($"yes to {request?.Message}") },
        });
        options.Handlers.RootsHandler = (_, _) => ValueTask.FromResult(new ListRootsResult { Roots = [new Root { Uri = "file:///tmp/a", Name = "a" }] });
        await using var connection = await ConnectAsync("stdio", options, cts.Token);
        var logged = new TaskCompletionSource<LoggingMessageNotificationParams>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var registration = connection.Client.RegisterNotificationHandler(
            NotificationMethods.LoggingMessageNotification,
            (notification, _) =>
            {
                logged.TrySetResult(JsonSerializer.Deserialize<LoggingMessageNotificationParams>(notification.Params, McpJsonUtilities.DefaultOptions)!);
                return ValueTask.CompletedTask;
            });

        var elicit = await connection.Client.CallToolAsync("elicit", Args(("message", "ok?")), cancellationToken: cts.Token);
        var roots = await connection.Client.CallToolAsync("roots", cancellationToken: cts.Token);
        await connection.Client.CallToolAsync("log", Args(("level", "warning"), ("message", "careful")), cancellationToken: cts.Token);
        var log = await logged.Task.WaitAsync(cts.Token);

        Assert.Equal("""delta: action=accept content={"answer":"yes to ok?"}""", Text(elicit));
        Assert.Equal("delta: roots=file:///tmp/a", Text(roots));
        Assert.Equal(LoggingLevel.Warning, log.Level);
        Assert.Equal("careful", log.Data.GetString());
    }

    [Theory]
    [InlineData("stdio")]
    [InlineData("http")]
    public async Task ChangeTools_SendsToolListChanged_AndListsTheNewTool(string transport)
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        // In a 2026-07-28 session the SDK sends list_changed only on a subscriptions/listen stream the client
        // opened; an initialize-handshake session gets it broadcast. Pin the handshake era.
        await using var connection = await ConnectAsync(transport, NewOptions("2025-11-25"), cts.Token);
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
        await using var connection = await ConnectAsync("stdio", NewOptions("2025-11-25"), cts.Token);
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
