using System.Diagnostics;
using System.Text.Json.Nodes;
using McpMultiProxy.Tests.Infrastructure;
using ModelContextProtocol;
using Xunit;
using static McpMultiProxy.Tests.Infrastructure.McpTestClient;

namespace McpMultiProxy.Tests.Integration;

/// <summary>
/// A backend that dies mid-session: it is reported unhealthy with its last error, calls to it fail fast with an
/// error naming it, the other backend keeps serving, and once it is back the proxy reconnects and serves its tools.
/// </summary>
public sealed class BackendFailureTests
{
    /// <summary>Far below the call timeout (120 s): a call to a dead backend must not wait for anything.</summary>
    private static readonly TimeSpan FailFast = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task HttpBackendKilled_ReportedUnhealthyOthersServe_ThenRestartedOnSamePort_IsServedAgain()
    {
        using var cts = new CancellationTokenSource(ProxyClient.LongTimeout);
        using var directory = new TempDirectory();
        var alphaStart = TestServerProcess.StartAsync("--name", "alpha");
        var betaStart = TestServerProcess.StartAsync("--name", "beta");
        await using var alpha = await alphaStart;
        await using var beta = await betaStart;
        var config = TestConfig.Write(
            directory,
            new JsonObject { ["alpha"] = TestConfig.Http(alpha.Url), ["beta"] = TestConfig.Http(beta.Url) },
            TestConfig.FastHealth());
        await using var proxy = await ProxyProcess.StartStdioAsync(["--config", config], cancellationToken: cts.Token);
        var client = proxy.Client!;
        await client.WaitForToolsAsync("alpha__echo", "beta__echo");
        Assert.Equal("alpha: before", Text(await client.CallToolAsync("alpha__echo", Args(("text", "before")), cancellationToken: cts.Token)));

        alpha.Kill();
        await alpha.Process.WaitForExitAsync();
        var down = await client.WaitForStateAsync("alpha", "unhealthy");
        var health = await client.CallToolAsync("proxy_health", cancellationToken: cts.Token);
        var stopwatch = Stopwatch.StartNew();
        var refused = await Assert.ThrowsAsync<McpProtocolException>(
            async () => await client.CallToolAsync("alpha__echo", Args(("text", "while down")), cancellationToken: cts.Token));
        var refusedAfter = stopwatch.Elapsed;
        stopwatch.Restart();
        var other = await client.CallToolAsync("beta__echo", Args(("text", "still here")), cancellationToken: cts.Token);
        var otherAfter = stopwatch.Elapsed;

        Assert.NotNull(down.LastError());
        Assert.StartsWith("1/2 servers healthy", Text(health), StringComparison.Ordinal);
        var alphaText = Assert.Single(Text(health).Split('\n'), l => l.StartsWith("alpha: unhealthy", StringComparison.Ordinal));
        Assert.Contains(" — ", alphaText, StringComparison.Ordinal);
        var alphaLine = health.StructuredContent!.Value.GetProperty("servers").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "alpha");
        Assert.Equal("unhealthy", alphaLine.State());
        Assert.EndsWith($" — {alphaLine.LastError()}", alphaText, StringComparison.Ordinal);
        Assert.Matches("Connection refused|HTTP request failed|connection", alphaLine.LastError()!);
        Assert.StartsWith("Server 'alpha' is unavailable: ", refused.Message[refused.Message.IndexOf("Server", StringComparison.Ordinal)..], StringComparison.Ordinal);
        Assert.True(refusedAfter < FailFast, $"the call to the dead backend took {refusedAfter}");
        Assert.Equal("beta: still here", Text(other));
        Assert.True(otherAfter < FailFast, $"the call to the live backend took {otherAfter}");
        Assert.DoesNotContain(await client.ToolNamesAsync(cts.Token), t => t.StartsWith("alpha__", StringComparison.Ordinal));

        await using var revived = await TestServerProcess.StartOnPortAsync(alpha.Url.Port, "--name", "alpha");
        var back = await client.WaitForStateAsync("alpha", "healthy");
        await client.WaitForToolsAsync("alpha__echo");
        var whoami = await client.CallToolAsync("alpha__whoami", cancellationToken: cts.Token);

        Assert.Equal(alpha.Url, revived.Url);
        Assert.Equal(revived.Pid, whoami.StructuredContent!.Value.GetProperty("pid").GetInt32());
        Assert.StartsWith("2/2 servers healthy", Text(await client.CallToolAsync("proxy_health", cancellationToken: cts.Token)), StringComparison.Ordinal);
        Assert.True(back.GetProperty("restarts").GetInt32() >= 1, back.ToString());
    }

    [Fact]
    public async Task StdioBackendCrashesMidCall_CallFailsNamingIt_ThenItIsRestartedWithBackoff()
    {
        using var cts = new CancellationTokenSource(ProxyClient.LongTimeout);
        using var directory = new TempDirectory();
        var config = TestConfig.Write(
            directory,
            new JsonObject { ["alpha"] = TestConfig.TestServerStdio("--name", "alpha"), ["beta"] = TestConfig.TestServerStdio("--name", "beta") },
            TestConfig.FastHealth());
        await using var proxy = await ProxyProcess.StartStdioAsync(["--config", config], cancellationToken: cts.Token);
        var client = proxy.Client!;
        await client.WaitForToolsAsync("alpha__crash", "beta__echo");
        var firstPid = (await client.CallToolAsync("alpha__whoami", cancellationToken: cts.Token)).StructuredContent!.Value.GetProperty("pid").GetInt32();

        var stopwatch = Stopwatch.StartNew();
        var crashed = await Assert.ThrowsAsync<McpProtocolException>(
            async () => await client.CallToolAsync("alpha__crash", cancellationToken: cts.Token));
        var crashedAfter = stopwatch.Elapsed;
        var other = await client.CallToolAsync("beta__echo", Args(("text", "unaffected")), cancellationToken: cts.Token);
        var downLine = await proxy.WaitForLineAsync(l => l.Contains("alpha [", StringComparison.Ordinal) && l.Contains("-> unhealthy", StringComparison.Ordinal));
        var retryLine = await proxy.WaitForLineAsync(l => l.Contains("alpha [", StringComparison.Ordinal) && l.Contains("the process exited with code 3; retry 1 in", StringComparison.Ordinal));
        var back = await client.WaitForServerAsync("alpha", s => s.State() == "healthy" && s.GetProperty("restarts").GetInt32() >= 1, "healthy after a restart");
        await client.WaitForToolsAsync("alpha__echo");
        var secondPid = (await client.CallToolAsync("alpha__whoami", cancellationToken: cts.Token)).StructuredContent!.Value.GetProperty("pid").GetInt32();

        Assert.Contains("Server 'alpha' is unavailable", crashed.Message, StringComparison.Ordinal);
        Assert.True(crashedAfter < FailFast, $"the crashed call took {crashedAfter}");
        Assert.Equal("beta: unaffected", Text(other));
        Assert.Matches("(healthy|degraded) -> unhealthy", downLine);
        Assert.Contains("exited with code 3", retryLine, StringComparison.Ordinal);
        Assert.Equal("the process exited with code 3", back.LastError());
        Assert.NotEqual(firstPid, secondPid);
        Assert.Equal("alpha: restarted", Text(await client.CallToolAsync("alpha__echo", Args(("text", "restarted")), cancellationToken: cts.Token)));
    }
}
