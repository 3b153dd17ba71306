using ModelContextProtocol;
using ModelContextProtocol.Client;
using Xunit;
using static McpMultiProxy.Tests.Infrastructure.McpTestClient;

namespace McpMultiProxy.Tests.Infrastructure;

/// <summary>Proves the fixtures: mcp-testserver as a stdio backend, driven by the SDK client.</summary>
public sealed class TestServerStdioTests
{
    [Fact]
    public async Task ListTools_HasBuiltInAndGeneratedTools()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        await using var client = await TestServerCommand.ConnectStdioAsync(["--name", "alpha", "--tools", "3"], cancellationToken: cts.Token);

        var tools = await client.ListToolsAsync(cancellationToken: cts.Token);

        Assert.Superset(
            new HashSet<string> { "echo", "add", "slow", "crash", "progress", "sample", "change_tools", "tool_0", "tool_2" },
            tools.Select(t => t.Name).ToHashSet());
        Assert.True(tools.Single(t => t.Name == "read_only_echo").ProtocolTool.Annotations?.ReadOnlyHint);
        Assert.Equal("alpha", client.ServerInfo?.Name);
    }

    [Fact]
    public async Task CallEcho_AnswersWithServerNamePrefix()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        await using var client = await TestServerCommand.ConnectStdioAsync(["--name", "alpha"], cancellationToken: cts.Token);

        var result = await client.CallToolAsync("echo", Args(("text", "hi")), cancellationToken: cts.Token);

        Assert.Equal("alpha: hi", Text(result));
    }

    [Fact]
    public async Task Progress_ReportsEveryStep()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
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

        var result = await client.CallToolAsync("progress", Args(("steps", 3), ("delayMs", 1)), progress, cancellationToken: cts.Token);
        // The SDK client dispatches notifications concurrently with responses: the last update may come after the result.
        await allThree.Task.WaitAsync(cts.Token);

        Assert.Equal("alpha: 3 steps done", Text(result));
        lock (updates)
        {
            Assert.Equal([1f, 2f, 3f], updates.Order());
        }
    }

    [Fact]
    public async Task CrashAfter_AnswersNCallsThenExitsWithCode3()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        await using var client = await TestServerCommand.ConnectStdioAsync(["--name", "alpha", "--crash-after", "2"], cancellationToken: cts.Token);

        var first = await client.CallToolAsync("echo", Args(("text", "1")), cancellationToken: cts.Token);
        var second = await client.CallToolAsync("echo", Args(("text", "2")), cancellationToken: cts.Token);
        var completion = await client.Completion.WaitAsync(cts.Token);

        Assert.Equal("alpha: 1", Text(first));
        Assert.Equal("alpha: 2", Text(second));
        Assert.Equal(3, Assert.IsType<StdioClientCompletionDetails>(completion).ExitCode);
    }

    [Fact]
    public async Task Garbage_IsSkippedByTheSdkClient()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        await using var client = await TestServerCommand.ConnectStdioAsync(["--name", "alpha", "--garbage"], cancellationToken: cts.Token);

        var result = await client.CallToolAsync("echo", Args(("text", "still fine")), cancellationToken: cts.Token);

        Assert.Equal("alpha: still fine", Text(result));
    }

    [Fact]
    public async Task Hang_ConnectsButNeverAnswersAToolCall()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        await using var client = await TestServerCommand.ConnectStdioAsync(["--name", "alpha", "--hang"], cancellationToken: cts.Token);

        using var callTimeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            async () => await client.CallToolAsync("echo", Args(("text", "hi")), cancellationToken: callTimeout.Token));
    }

    [Fact]
    public async Task Throw_IsAJsonRpcError_AndFail_IsAnIsErrorResult()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        await using var client = await TestServerCommand.ConnectStdioAsync(["--name", "alpha"], cancellationToken: cts.Token);

        var thrown = await Assert.ThrowsAsync<McpProtocolException>(async () => await client.CallToolAsync("throw", cancellationToken: cts.Token));
        var failed = await client.CallToolAsync("fail", cancellationToken: cts.Token);

        Assert.Equal(McpErrorCode.InternalError, thrown.ErrorCode);
        Assert.True(failed.IsError);
        Assert.Equal("alpha: failed as asked", Text(failed));
    }

    [Theory]
    [InlineData(new string[0], "2026-07-28")]
    [InlineData(new[] { "--protocol-version", "2025-11-25" }, "2025-11-25")]
    public async Task UnpinnedClient_NegotiatesTheNewestRevisionTheServerAllows(string[] flags, string expectedVersion)
    {
        using var cts = new CancellationTokenSource(TestTimeout);
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

    /// <summary>Reports on the caller's thread, unlike <see cref="Progress{T}"/> which posts to the thread pool.</summary>
    private sealed class SynchronousProgress(Action<ProgressNotificationValue> report) : IProgress<ProgressNotificationValue>
    {
        public void Report(ProgressNotificationValue value) => report(value);
    }
}
