using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Xunit;

namespace McpMultiProxy.Tests.Infrastructure;

/// <summary>
/// Proves the fixtures: mcp-testserver driven directly by the SDK client, over stdio and over HTTP.
/// </summary>
public sealed class TestServerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static McpClientOptions SamplingClient(string answer) => new()
    {
        Handlers = new McpClientHandlers
        {
            SamplingHandler = (request, _, _) => ValueTask.FromResult(new CreateMessageResult
            {
                Model = "test-model",
                Content = [new TextContentBlock { Text = $"{answer} to '{((TextContentBlock)request!.Messages[0].Content[0]).Text}'" }],
            }),
        },
    };

    private static string Text(CallToolResult result) => Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;

    [Fact]
    public async Task Stdio_ListTools_HasBuiltInAndGeneratedTools()
    {
        using var cts = new CancellationTokenSource(Timeout);
        await using var client = await TestServerCommand.ConnectStdioAsync(["--name", "alpha", "--tools", "3"], cancellationToken: cts.Token);

        var tools = await client.ListToolsAsync(cancellationToken: cts.Token);

        var names = tools.Select(t => t.Name).ToHashSet();
        Assert.Superset(new HashSet<string> { "echo", "add", "slow", "crash", "progress", "sample", "change_tools", "tool_0", "tool_2" }, names);
        Assert.True(tools.Single(t => t.Name == "read_only_echo").ProtocolTool.Annotations?.ReadOnlyHint);
        Assert.Equal("alpha", client.ServerInfo?.Name);
    }

    [Fact]
    public async Task Stdio_CallEcho_AnswersWithServerNamePrefix()
    {
        using var cts = new CancellationTokenSource(Timeout);
        await using var client = await TestServerCommand.ConnectStdioAsync(["--name", "alpha"], cancellationToken: cts.Token);

        var result = await client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "hi" }, cancellationToken: cts.Token);

        Assert.Equal("alpha: hi", Text(result));
    }

    [Fact]
    public async Task Http_CallEchoAndAdd_AnswersOnLoopback()
    {
        using var cts = new CancellationTokenSource(Timeout);
        await using var server = await TestServerProcess.StartAsync("--name", "beta");
        await using var client = await server.ConnectAsync(cancellationToken: cts.Token);

        var echo = await client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "hi" }, cancellationToken: cts.Token);
        var add = await client.CallToolAsync("add", new Dictionary<string, object?> { ["a"] = 2, ["b"] = 3 }, cancellationToken: cts.Token);

        Assert.Equal("127.0.0.1", server.Url.Host);
        Assert.Equal("beta: hi", Text(echo));
        Assert.Equal(5, add.StructuredContent!.Value.GetProperty("sum").GetDouble());
        Assert.NotNull(client.SessionId); // stateful, as a proxy backend needs
    }

    [Fact]
    public async Task Stdio_Progress_ReportsEveryStep()
    {
        using var cts = new CancellationTokenSource(Timeout);
        await using var client = await TestServerCommand.ConnectStdioAsync(["--name", "alpha"], cancellationToken: cts.Token);
        var updates = new List<float>();
        var allThree = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var progress = new SynchronousProgress(value =>
        {
            lock (updates)
            {
                updates.Add(value.Progress);
                if (updates.Count == 3)
                {
                    allThree.TrySetResult();
                }
            }
        });

        var result = await client.CallToolAsync(
            "progress", new Dictionary<string, object?> { ["steps"] = 3, ["delayMs"] = 1 }, progress, cancellationToken: cts.Token);
        // The SDK client dispatches notifications concurrently with responses: the last update may come after the result.
        await allThree.Task.WaitAsync(cts.Token);

        Assert.Equal("alpha: 3 steps done", Text(result));
        lock (updates)
        {
            Assert.Equal([1f, 2f, 3f], updates.Order());
        }
    }

    [Fact]
    public async Task Stdio_Sample_IsAnsweredByTheClientSamplingHandler()
    {
        using var cts = new CancellationTokenSource(Timeout);
        await using var client = await TestServerCommand.ConnectStdioAsync(["--name", "alpha"], SamplingClient("sampled"), cancellationToken: cts.Token);

        var result = await client.CallToolAsync("sample", new Dictionary<string, object?> { ["prompt"] = "hello" }, cancellationToken: cts.Token);

        Assert.Equal("alpha: sampled to 'hello'", Text(result));
    }

    [Fact]
    public async Task Http_Sample_IsAnsweredByTheClientSamplingHandler()
    {
        using var cts = new CancellationTokenSource(Timeout);
        await using var server = await TestServerProcess.StartAsync("--name", "beta");
        await using var client = await server.ConnectAsync(SamplingClient("sampled"), cts.Token);

        var result = await client.CallToolAsync("sample", new Dictionary<string, object?> { ["prompt"] = "hello" }, cancellationToken: cts.Token);

        Assert.Equal("beta: sampled to 'hello'", Text(result));
    }

    [Theory]
    [InlineData("stdio")]
    [InlineData("http")]
    public async Task ChangeTools_SendsToolListChanged_AndListsTheNewTool(string transport)
    {
        using var cts = new CancellationTokenSource(Timeout);
        await using var server = transport == "http" ? await TestServerProcess.StartAsync("--name", "gamma") : null;
        // In a 2026-07-28 session the SDK sends list_changed only on a subscriptions/listen stream the client
        // opened; an initialize-handshake session gets it broadcast. Pin the handshake era.
        var options = new McpClientOptions { ProtocolVersion = "2025-11-25" };
        await using var client = server is null
            ? await TestServerCommand.ConnectStdioAsync(["--name", "gamma"], options, cancellationToken: cts.Token)
            : await server.ConnectAsync(options, cts.Token);
        var listChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var registration = client.RegisterNotificationHandler(
            NotificationMethods.ToolListChangedNotification,
            (_, _) =>
            {
                listChanged.TrySetResult();
                return ValueTask.CompletedTask;
            });

        var result = await client.CallToolAsync("change_tools", cancellationToken: cts.Token);
        await listChanged.Task.WaitAsync(cts.Token);
        var tools = await client.ListToolsAsync(cancellationToken: cts.Token);

        Assert.Equal("gamma: added added_1", Text(result));
        Assert.Contains(tools, t => t.Name == "added_1");
    }

    [Fact]
    public async Task Stdio_CrashAfter_AnswersNCallsThenExitsWithCode3()
    {
        using var cts = new CancellationTokenSource(Timeout);
        await using var client = await TestServerCommand.ConnectStdioAsync(["--name", "alpha", "--crash-after", "2"], cancellationToken: cts.Token);

        var first = await client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "1" }, cancellationToken: cts.Token);
        var second = await client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "2" }, cancellationToken: cts.Token);
        var completion = await client.Completion.WaitAsync(cts.Token);

        Assert.Equal("alpha: 1", Text(first));
        Assert.Equal("alpha: 2", Text(second));
        Assert.Equal(3, Assert.IsType<StdioClientCompletionDetails>(completion).ExitCode);
    }

    [Fact]
    public async Task Http_CrashAfter_AnswersNCallsThenExitsWithCode3()
    {
        using var cts = new CancellationTokenSource(Timeout);
        await using var server = await TestServerProcess.StartAsync("--name", "beta", "--crash-after", "1");
        await using var client = await server.ConnectAsync(cancellationToken: cts.Token);

        var only = await client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "1" }, cancellationToken: cts.Token);

        Assert.Equal("beta: 1", Text(only));
        Assert.Equal(3, await server.Process.WaitForExitAsync());
    }

    [Fact]
    public async Task Stdio_Garbage_IsSkippedByTheSdkClient()
    {
        using var cts = new CancellationTokenSource(Timeout);
        await using var client = await TestServerCommand.ConnectStdioAsync(["--name", "alpha", "--garbage"], cancellationToken: cts.Token);

        var result = await client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "still fine" }, cancellationToken: cts.Token);

        Assert.Equal("alpha: still fine", Text(result));
    }

    [Fact]
    public async Task Stdio_Hang_ConnectsButNeverAnswersAToolCall()
    {
        using var cts = new CancellationTokenSource(Timeout);
        await using var client = await TestServerCommand.ConnectStdioAsync(["--name", "alpha", "--hang"], cancellationToken: cts.Token);

        using var callTimeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            async () => await client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "hi" }, cancellationToken: callTimeout.Token));
    }

    [Theory]
    [InlineData(new string[0], "2026-07-28")]
    [InlineData(new[] { "--protocol-version", "2025-11-25" }, "2025-11-25")]
    public async Task Stdio_UnpinnedClient_NegotiatesTheNewestRevisionTheServerAllows(string[] flags, string expectedVersion)
    {
        using var cts = new CancellationTokenSource(Timeout);
        await using var client = await TestServerCommand.ConnectStdioAsync(flags, cancellationToken: cts.Token);

        Assert.Equal(expectedVersion, client.NegotiatedProtocolVersion);
    }

    [Fact]
    public async Task FailStart_ExitsWithCode2AndWritesPidFile()
    {
        using var temp = new TempDirectory();
        var pidFile = temp.Combine("server.pid");
        await using var process = ChildProcess.Start(TestServerCommand.Command, TestServerCommand.Arguments("--fail-start", "--pid-file", pidFile));

        Assert.Equal(2, await process.WaitForExitAsync());
        Assert.Equal(process.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), File.ReadAllText(pidFile));
    }

    [Fact]
    public async Task SpawnChild_KillByHandle_KillsTheGrandchildToo()
    {
        await using var server = await TestServerProcess.StartAsync("--spawn-child");
        var line = await server.Process.WaitForLineAsync(l => l.StartsWith("CHILD_PID ", StringComparison.Ordinal));
        using var grandchild = System.Diagnostics.Process.GetProcessById(int.Parse(line["CHILD_PID ".Length..], System.Globalization.CultureInfo.InvariantCulture));

        server.Kill();

        Assert.True(grandchild.WaitForExit(TimeSpan.FromSeconds(10)), "the grandchild outlived a tree kill");
    }

    /// <summary>Reports on the caller's thread, unlike <see cref="Progress{T}"/> which posts to the thread pool.</summary>
    private sealed class SynchronousProgress(Action<ProgressNotificationValue> report) : IProgress<ProgressNotificationValue>
    {
        public void Report(ProgressNotificationValue value) => report(value);
    }
}
