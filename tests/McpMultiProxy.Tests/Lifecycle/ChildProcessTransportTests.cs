using System.Diagnostics;
using System.Globalization;
using McpMultiProxy.Backends.Processes;
using McpMultiProxy.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using ModelContextProtocol.Client;
using Xunit;
using Xunit.Abstractions;
using static McpMultiProxy.Tests.Infrastructure.McpTestClient;

namespace McpMultiProxy.Tests.Lifecycle;

/// <summary>
/// The stdio transport of backends, on a real test server that spawns a grandchild (<c>sleep</c>, holding the
/// server's stdout like node under npx): why the SDK's transport is not enough, and that ours is.
/// </summary>
public sealed class ChildProcessTransportTests(ITestOutputHelper output)
{
    [Fact]
    public async Task SdkStdioTransport_BackendCrashesWithGrandchild_CallHangsAndGrandchildLeaks()
    {
        var childPid = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cts = new CancellationTokenSource(TestTimeout);
        var client = await TestServerCommand.ConnectStdioAsync(["--spawn-child"], stderr: line => OnChildPid(line, childPid), cancellationToken: cts.Token);
        var grandchild = await childPid.Task.WaitAsync(cts.Token);
        try
        {
            var call = client.CallToolAsync("crash", cancellationToken: cts.Token).AsTask();

            // The server is dead, but the grandchild holds its stdout open: the SDK waits for an end-of-file that never comes.
            var finished = await Task.WhenAny(call, Task.Delay(TimeSpan.FromSeconds(3)));
            Assert.NotSame(call, finished);

            await client.DisposeAsync();
            Assert.False(ProcessTable.IsGone(grandchild), "the SDK transport was expected to leave the grandchild running");
            output.WriteLine($"SDK transport: after the crash and dispose, grandchild {grandchild} is still running");
        }
        finally
        {
            ProcessTable.KillLeaked([grandchild]);
        }
    }

    [Fact]
    public async Task Crash_WithGrandchildHoldingStdout_CallFailsWithinASecondAndGroupIsGone()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        var childPid = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var transport = Transport(["--spawn-child"], line => OnChildPid(line, childPid));
        await using var client = await McpClient.CreateAsync(transport, NewOptions(), cancellationToken: cts.Token);
        var grandchild = await childPid.Task.WaitAsync(cts.Token);
        var pgid = ProcessEntry.Read(grandchild)!.Value.Pgid;

        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAnyAsync<Exception>(() => client.CallToolAsync("crash", cancellationToken: cts.Token).AsTask());
        watch.Stop();
        var details = Assert.IsType<StdioClientCompletionDetails>(await client.Completion.WaitAsync(cts.Token));

        output.WriteLine($"crash mid-call failed after {watch.ElapsedMilliseconds} ms: {error.GetType().Name}: {error.Message}");
        Assert.InRange(watch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(2.5));
        Assert.Equal(3, details.ExitCode);
        Assert.True(await ProcessTable.WaitUntilAsync(() => ProcessTable.LiveInGroup(pgid).Count == 0), ProcessTable.Describe(ProcessTable.LiveInGroup(pgid)));
        Assert.True(ProcessTable.IsGone(grandchild));
    }

    [Fact]
    public async Task Dispose_BackendWithGrandchild_StopsWholeGroupAndReapsTheServer()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        var childPid = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var client = await McpClient.CreateAsync(Transport(["--spawn-child"], line => OnChildPid(line, childPid)), NewOptions(), cancellationToken: cts.Token);
        var grandchild = await childPid.Task.WaitAsync(cts.Token);
        var server = ProcessEntry.Read(grandchild)!.Value.Ppid;
        var pgid = ProcessEntry.Read(grandchild)!.Value.Pgid;
        var before = ProcessTable.LiveInGroup(pgid);

        await client.DisposeAsync();

        var after = ProcessTable.LiveInGroup(pgid);
        output.WriteLine($"group {pgid}: {before.Count} process(es) before dispose ({ProcessTable.Describe(before)}), {after.Count} after");
        Assert.Equal(server, pgid);
        Assert.Equal(2, before.Count);
        Assert.Empty(after);
        Assert.DoesNotContain(ProcessTable.UnreapedChildrenOf(Environment.ProcessId), p => p.Pid == server);
    }

    [Fact]
    public async Task Connect_ProgramNotOnPath_FailsWithAClearMessage()
    {
        var launch = new ProcessLaunch("missing", "no-such-program-mmp", [], new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" }, null);
        var transport = new ChildProcessTransport(launch, watchdog: null, ProcessStopTimes.Default, NullLoggerFactory.Instance);

        var error = await Assert.ThrowsAsync<BackendStartException>(() => McpClient.CreateAsync(transport, NewOptions()));

        Assert.Contains("'no-such-program-mmp' was not found on PATH", error.Message, StringComparison.Ordinal);
    }

    private static ChildProcessTransport Transport(string[] flags, Action<string>? stderr = null)
    {
        var env = new Dictionary<string, string>();
        foreach (var name in new[] { "PATH", "HOME", "DOTNET_ROOT" })
        {
            if (Environment.GetEnvironmentVariable(name) is { } value)
            {
                env[name] = value;
            }
        }

        var launch = new ProcessLaunch("test", TestServerCommand.Command, TestServerCommand.Arguments(flags).ToList(), env, null);
        return new ChildProcessTransport(launch, watchdog: null, ProcessStopTimes.Default, NullLoggerFactory.Instance, stderr);
    }

    private static void OnChildPid(string line, TaskCompletionSource<int> childPid)
    {
        if (line.StartsWith("CHILD_PID ", StringComparison.Ordinal))
        {
            childPid.TrySetResult(int.Parse(line["CHILD_PID ".Length..], CultureInfo.InvariantCulture));
        }
    }
}
