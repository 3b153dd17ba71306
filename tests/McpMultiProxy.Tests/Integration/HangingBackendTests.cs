using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using McpMultiProxy.Tests.Infrastructure;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Xunit;
using static McpMultiProxy.Tests.Infrastructure.McpTestClient;

namespace McpMultiProxy.Tests.Integration;

/// <summary>A backend that never answers neither blocks start-up nor slows the others, and is reported for what it is.</summary>
public sealed class HangingBackendTests
{
    /// <summary>Far below every timeout in play: a call to a healthy backend must not wait for a hung one.</summary>
    private static readonly TimeSpan Quick = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task HangingBackend_NeverAnswersAfterHandshake_OthersServeAndItIsReportedUnhealthy()
    {
        using var cts = new CancellationTokenSource(ProxyClient.LongTimeout);
        using var directory = new TempDirectory();
        var proxySettings = TestConfig.FastHealth();

        // The connect attempt (handshake + first list read) is given up after connectTimeoutSeconds + 5 s.
        proxySettings["connectTimeoutSeconds"] = 10;
        var config = TestConfig.Write(
            directory,
            new JsonObject { ["sleepy"] = TestConfig.TestServerStdio("--name", "sleepy", "--hang"), ["alpha"] = TestConfig.TestServerStdio("--name", "alpha") },
            proxySettings);

        await using var proxy = await ProxyProcess.StartStdioAsync(["--config", config], cancellationToken: cts.Token);
        var client = proxy.Client!;
        await client.WaitForToolsAsync("alpha__echo");
        var whileStarting = await client.ServerStatusAsync("sleepy", cts.Token);
        var early = await Assert.ThrowsAsync<McpProtocolException>(
            async () => await client.CallToolAsync("sleepy__echo", Args(("text", "x")), cancellationToken: cts.Token));
        var timings = new List<TimeSpan>();
        for (var i = 0; i < 5; i++)
        {
            var stopwatch = Stopwatch.StartNew();
            Assert.Equal($"alpha: call {i}", Text(await client.CallToolAsync("alpha__echo", Args(("text", $"call {i}")), cancellationToken: cts.Token)));
            timings.Add(stopwatch.Elapsed);
        }

        Assert.Equal("starting", whileStarting.State());
        Assert.Contains("Server 'sleepy' is unavailable: it is still starting", early.Message, StringComparison.Ordinal);
        Assert.All(timings, t => Assert.True(t < Quick, $"a call to alpha took {t} while sleepy hung"));

        var down = await client.WaitForStateAsync("sleepy", "unhealthy");
        var health = await client.CallToolAsync("proxy_health", cancellationToken: cts.Token);
        var check = await client.ManageOkAsync(cts.Token, ("action", "health"), ("name", "sleepy"));
        var stopwatchDown = Stopwatch.StartNew();
        var refused = await Assert.ThrowsAsync<McpProtocolException>(
            async () => await client.CallToolAsync("sleepy__echo", Args(("text", "x")), cancellationToken: cts.Token));
        var refusedAfter = stopwatchDown.Elapsed;

        Assert.Equal("it did not finish the MCP handshake in time", down.LastError());
        Assert.StartsWith("1/2 servers healthy", Text(health), StringComparison.Ordinal);
        Assert.Contains("sleepy: unhealthy — it did not finish the MCP handshake in time", Text(health), StringComparison.Ordinal);
        Assert.Contains("- sleepy: unhealthy, 1/1 ping(s) failed: it did not finish the MCP handshake in time", Text(check), StringComparison.Ordinal);
        Assert.Contains("Server 'sleepy' is unavailable: it did not finish the MCP handshake in time", refused.Message, StringComparison.Ordinal);
        Assert.True(refusedAfter < Quick, $"the call to the hung backend took {refusedAfter}");
        Assert.Equal("alpha: still quick", Text(await client.CallToolAsync("alpha__echo", Args(("text", "still quick")), cancellationToken: cts.Token)));
    }

    [Fact]
    public async Task CallThatNeverAnswers_TimesOutNamingTheServer_IsCancelledThere_AndOthersStayQuick()
    {
        using var cts = new CancellationTokenSource(ProxyClient.LongTimeout);
        using var directory = new TempDirectory();
        var alpha = TestConfig.TestServerStdio("--name", "alpha");
        alpha["timeoutSeconds"] = 3;
        var config = TestConfig.Write(directory, new JsonObject { ["alpha"] = alpha, ["beta"] = TestConfig.TestServerStdio("--name", "beta") });
        await using var proxy = await ProxyProcess.StartStdioAsync(["--config", config], cancellationToken: cts.Token);
        var client = proxy.Client!;
        await client.WaitForToolsAsync("alpha__slow", "beta__echo");

        var stuck = client.CallToolAsync("alpha__slow", Args(("ms", 600_000)), cancellationToken: cts.Token).AsTask();
        var stopwatch = Stopwatch.StartNew();
        var other = await client.CallToolAsync("beta__echo", Args(("text", "meanwhile")), cancellationToken: cts.Token);
        var otherAfter = stopwatch.Elapsed;
        var timedOut = await Assert.ThrowsAsync<McpProtocolException>(async () => await stuck);
        var status = await client.ServerStatusAsync("alpha", cts.Token);

        Assert.Equal("beta: meanwhile", Text(other));
        Assert.True(otherAfter < Quick, $"a call to beta took {otherAfter} while alpha was stuck");
        Assert.Contains("Server 'alpha' did not answer within 3 s; the call was cancelled. Raise 'timeoutSeconds'", timedOut.Message, StringComparison.Ordinal);
        Assert.Equal(1, status.GetProperty("timeouts").GetInt32());
        await WaitForCancelledCountAsync(client, "alpha", 1);
    }

    [Fact]
    public async Task ClientCancelsACall_TheCancellationReachesTheBackend()
    {
        using var cts = new CancellationTokenSource(ProxyClient.LongTimeout);
        using var directory = new TempDirectory();
        var config = TestConfig.Write(directory, new JsonObject { ["alpha"] = TestConfig.TestServerStdio("--name", "alpha") });
        await using var proxy = await ProxyProcess.StartStdioAsync(["--config", config], cancellationToken: cts.Token);
        var client = proxy.Client!;
        await client.WaitForToolsAsync("alpha__slow");
        var id = new RequestId("client-call-1");
        using var callCancel = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);

        // The SDK client does not send notifications/cancelled when its token is cancelled (SDK 2.3.1): send it as a client would.
        var call = client.SendRequestAsync<CallToolRequestParams, CallToolResult>(
            RequestMethods.ToolsCall,
            new CallToolRequestParams { Name = "alpha__slow", Arguments = new Dictionary<string, JsonElement> { ["ms"] = JsonSerializer.SerializeToElement(600_000) } },
            McpJsonUtilities.DefaultOptions,
            id,
            callCancel.Token).AsTask();
        await client.WaitForServerAsync("alpha", s => s.GetProperty("inFlight").GetInt32() == 1, "a call in flight");
        await client.SendNotificationAsync(
            NotificationMethods.CancelledNotification,
            new CancelledNotificationParams { RequestId = id, Reason = "the user changed their mind" },
            McpJsonUtilities.DefaultOptions,
            cts.Token);
        await callCancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await call);
        await WaitForCancelledCountAsync(client, "alpha", 1);
        await client.WaitForServerAsync("alpha", s => s.GetProperty("inFlight").GetInt32() == 0, "no call in flight");
    }

    /// <summary>Waits until the test server counts <paramref name="count"/> cancelled 'slow' calls (tool 'cancelled').</summary>
    private static async Task WaitForCancelledCountAsync(McpClient client, string server, int count)
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        var expected = $"{server}: cancelled={count}";
        var last = "";
        try
        {
            while ((last = Text(await client.CallToolAsync($"{server}__cancelled", cancellationToken: cts.Token))) != expected)
            {
                await Task.Delay(200, cts.Token);
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            Assert.Fail($"The backend never saw the cancellation: after {TestTimeout} it still says '{last}', not '{expected}'.");
        }
    }
}
