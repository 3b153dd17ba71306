using System.Text.Json;
using System.Text.Json.Nodes;
using McpMultiProxy.Tests.Infrastructure;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Xunit;
using static McpMultiProxy.Tests.Infrastructure.McpTestClient;

namespace McpMultiProxy.Tests.Protocol;

/// <summary>
/// The stdio frontend (how Cursor and Claude Desktop launch the proxy) in both protocol eras, with a stdio and an
/// HTTP backend. Over stdio a 2026-07-28 client can answer a backend's sampling, elicitation and roots requests
/// (the SDK carries them as input_required round trips), unlike stateless HTTP.
/// </summary>
public sealed class StdioFrontendProtocolTests
{
    public static TheoryData<string> Eras => new() { ProtocolFixture.Legacy, ProtocolFixture.Modern };

    [Theory]
    [MemberData(nameof(Eras))]
    public async Task StdioFrontend_ServerToClientRequestsProgressAndListChanges_WorkInEitherEra(string era)
    {
        using var dir = new TempDirectory();
        await using var http = await TestServerProcess.StartAsync("--name", "th");
        var config = dir.WriteFile("mcp.json", new JsonObject
        {
            ["mcpServers"] = new JsonObject
            {
                ["ts"] = new JsonObject
                {
                    ["command"] = TestServerCommand.Command,
                    ["args"] = new JsonArray([.. TestServerCommand.Arguments("--name", "ts").Select(a => JsonValue.Create(a))]),
                },
                ["th"] = new JsonObject { ["url"] = http.Url.ToString() },
            },
        }.ToJsonString());

        var options = SamplingOptions("stdio-sampled", era);
        options.Handlers.RootsHandler = (_, _) => ValueTask.FromResult(new ListRootsResult { Roots = [new Root { Uri = "file:///stdio-root" }] });
        await using var proxy = await ProxyProcess.StartStdioAsync(["--config", config], options);
        var client = proxy.Client!;
        Assert.Equal(era, client.NegotiatedProtocolVersion);
        await WaitForToolAsync(client, "th__sample");
        await WaitForToolAsync(client, "ts__sample");

        foreach (var backend in new[] { "ts", "th" })
        {
            Assert.Contains("stdio-sampled to 'hi'", Text(await client.CallToolAsync($"{backend}__sample", Args(("prompt", "hi")))), StringComparison.Ordinal);
            Assert.Contains("file:///stdio-root", Text(await client.CallToolAsync($"{backend}__roots")), StringComparison.Ordinal);

            var progress = 0;
            await using (client.RegisterNotificationHandler(NotificationMethods.ProgressNotification, (n, _) =>
            {
                if (n.Params?["progressToken"]?.ToString() == $"tok-{backend}")
                {
                    Interlocked.Increment(ref progress);
                }

                return default;
            }))
            {
                await client.SendRequestAsync(new JsonRpcRequest
                {
                    Method = RequestMethods.ToolsCall,
                    Params = new JsonObject
                    {
                        ["name"] = $"{backend}__progress",
                        ["arguments"] = new JsonObject { ["steps"] = 4 },
                        ["_meta"] = new JsonObject { ["progressToken"] = $"tok-{backend}" },
                    },
                });
                await WaitUntilAsync(() => Volatile.Read(ref progress) == 4);
            }
        }

        // list_changed: a session-wide notification before 2026-07-28, a subscriptions/listen stream after.
        var changed = 0;
        client.RegisterNotificationHandler(NotificationMethods.ToolListChangedNotification, (_, _) =>
        {
            Interlocked.Increment(ref changed);
            return default;
        });
        using var stop = new CancellationTokenSource();
        if (era == ProtocolFixture.Modern)
        {
            var acknowledged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            client.RegisterNotificationHandler(NotificationMethods.SubscriptionsAcknowledgedNotification, (_, _) =>
            {
                acknowledged.TrySetResult();
                return default;
            });
            _ = client.SendRequestAsync<SubscriptionsListenRequestParams, EmptyResult>(
                RequestMethods.SubscriptionsListen,
                new SubscriptionsListenRequestParams { Notifications = new SubscriptionsListenNotifications { ToolsListChanged = true } },
                ModelContextProtocol.McpJsonUtilities.DefaultOptions,
                cancellationToken: stop.Token).AsTask().ContinueWith(t => t.Exception, TaskScheduler.Default);
            await acknowledged.Task.WaitAsync(TestTimeout);
        }

        await client.CallToolAsync("ts__change_tools");
        await WaitUntilAsync(() => Volatile.Read(ref changed) > 0);
        await stop.CancelAsync();
    }

    private static async Task WaitForToolAsync(McpClient client, string name) =>
        await WaitUntilAsync(async () => (await client.ListToolsAsync()).Any(t => t.Name == name));
}
