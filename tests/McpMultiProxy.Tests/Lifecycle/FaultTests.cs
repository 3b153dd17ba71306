using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using McpMultiProxy.Backends.Processes;
using McpMultiProxy.Tests.Infrastructure;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using Xunit;
using Xunit.Abstractions;
using static McpMultiProxy.Tests.Infrastructure.McpTestClient;
using static McpMultiProxy.Tests.Lifecycle.LifecycleHarness;

namespace McpMultiProxy.Tests.Lifecycle;

/// <summary>
/// A misbehaving backend, as a real process behind the real proxy: exit mid-call, a hang, slow answers, garbage
/// on stdout, an HTTP backend that dies or restarts. No caller is left waiting and every error names the cause.
/// </summary>
public sealed class FaultTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Call_BackendExitsMidCallWithGrandchildHoldingStdout_FailsAtOnceThenRecovers()
    {
        using var harness = new LifecycleHarness();
        harness.WriteConfig(new JsonObject { ["kid"] = harness.StdioWithGrandchild("kid") });
        await using var proxy = await ProxyProcess.StartHttpAsync(["--config", harness.ConfigPath]);
        await using var client = await proxy.ConnectAsync();
        var group = await harness.WaitForBackendWithGrandchildAsync("kid");
        await WaitForStatusAsync(client, "kid", s => s.GetProperty("state").GetString() == "healthy");

        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("kid__crash").AsTask());
        watch.Stop();

        output.WriteLine($"exit mid-call: failed after {watch.ElapsedMilliseconds} ms: {error.Message}");
        Assert.InRange(watch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(3));
        Assert.Contains("Server 'kid' is unavailable", error.Message, StringComparison.Ordinal);
        Assert.Contains("exited with code 3", error.Message, StringComparison.Ordinal);
        Assert.True(await ProcessTable.WaitUntilAsync(() => ProcessTable.LiveInGroup(group).Count == 0), "the crashed backend's grandchild was left running");

        var status = await WaitForStatusAsync(client, "kid", s => s.GetProperty("state").GetString() == "healthy" && s.GetProperty("restarts").GetInt32() == 1);
        Assert.Equal("kid: back", Text(await client.CallToolAsync("kid__echo", Args(("text", "back")))));
        output.WriteLine($"after the restart: {status}");
    }

    [Fact]
    public async Task Call_BackendNeverAnswers_TimesOutAndBackendIsToldToCancel()
    {
        using var harness = new LifecycleHarness();
        var kid = Stdio("--name", "kid");
        kid["timeoutSeconds"] = 1;
        harness.WriteConfig(new JsonObject { ["kid"] = kid });
        await using var proxy = await ProxyProcess.StartHttpAsync(["--config", harness.ConfigPath]);
        await using var client = await proxy.ConnectAsync();
        await WaitForStatusAsync(client, "kid", s => s.GetProperty("state").GetString() == "healthy");

        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("kid__slow", Args(("ms", 600_000))).AsTask());
        watch.Stop();
        output.WriteLine(string.Join("\n", proxy.StderrLines));

        output.WriteLine($"hang: failed after {watch.ElapsedMilliseconds} ms: {error.Message}");
        Assert.Contains("did not answer within 1 s; the call was cancelled", error.Message, StringComparison.Ordinal);
        Assert.True(await WaitAsync(async () => Text(await client.CallToolAsync("kid__cancelled")) == "kid: cancelled=1"), "the backend never saw the cancellation");
        Assert.Equal(1, (await ServerStatusAsync(client, "kid")).GetProperty("timeouts").GetInt32());
    }

    [Fact]
    public async Task Connect_BackendHangsAfterHandshake_UnhealthyWithReasonAndHungProcessStopped()
    {
        using var harness = new LifecycleHarness();
        harness.WriteConfig(new JsonObject { ["kid"] = Stdio("--hang", "--pid-file", harness.PidFile("kid")) }, new JsonObject { ["connectTimeoutSeconds"] = 1 });
        await using var proxy = await ProxyProcess.StartHttpAsync(["--config", harness.ConfigPath]);
        await using var client = await proxy.ConnectAsync();
        var first = await harness.WaitForPidAsync("kid");

        var status = await WaitForStatusAsync(client, "kid", s => s.GetProperty("state").GetString() == "unhealthy", TimeSpan.FromSeconds(60));

        output.WriteLine($"hang in the handshake: {status}");
        Assert.Contains("did not finish the MCP handshake in time", status.GetProperty("lastError").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, status.GetProperty("retry").GetProperty("attempt").GetInt32());
        Assert.True(await ProcessTable.WaitUntilAsync(() => ProcessTable.IsGone(first)), $"the hung process {first} was left running");
    }

    [Fact]
    public async Task CrashLoop_BackendExitsAtEveryStart_RestartsFollowTheBackoffScheduleNeverATightLoop()
    {
        using var harness = new LifecycleHarness();
        var starts = harness.Directory.Combine("starts.txt");
        var script = $"date +%s.%N >> '{starts}'; exec '{TestServerCommand.Command}' '{TestPaths.TestServerDll}' --name kid --fail-start";
        harness.WriteConfig(new JsonObject { ["kid"] = new JsonObject { ["command"] = "/bin/sh", ["args"] = new JsonArray("-c", script) } });
        await using var proxy = await ProxyProcess.StartHttpAsync(["--config", harness.ConfigPath]);
        await using var client = await proxy.ConnectAsync();

        // Four starts: the first, then retries after about 1, 2 and 4 s (±20% jitter), so about 7 s.
        double[] Starts() => File.Exists(starts) ? [.. File.ReadAllLines(starts).Select(l => double.Parse(l, CultureInfo.InvariantCulture))] : [];
        Assert.True(await WaitAsync(() => Task.FromResult(Starts().Length >= 4), TimeSpan.FromSeconds(30)), $"the crashing backend was started {Starts().Length} time(s) in 30 s");
        var times = Starts();
        var gaps = times.Zip(times.Skip(1), (a, b) => b - a).Take(3).ToArray();
        // The fourth start may still be under way: the state is read once that attempt has failed too.
        var status = await WaitForStatusAsync(client, "kid", s => s.GetProperty("state").GetString() == "unhealthy" && s.TryGetProperty("retry", out var retry) && retry.GetProperty("attempt").GetInt32() >= 3);

        output.WriteLine($"crash loop: gaps between starts {string.Join(" / ", gaps.Select(g => g.ToString("0.00", CultureInfo.InvariantCulture)))} s; status {status}");
        // Measured from the first start, so a start that a busy machine delays (it only writes its time late) cannot
        // make the next gap look short: retry k comes no earlier than 0.8 × (1 + 2 + … + 2^(k-1)) s.
        for (var k = 1; k < times.Length && k <= 3; k++)
        {
            var due = 0.8 * (Math.Pow(2, k) - 1);
            Assert.True(times[k] - times[0] >= due, $"restart {k} came {times[k] - times[0]:0.00} s after the first start; the backoff asks for at least {due:0.0} s (1, 2, 4 s ± 20%)");
        }

        Assert.Equal("unhealthy", status.GetProperty("state").GetString());
        Assert.Contains("exited with code 2", status.GetProperty("lastError").GetString(), StringComparison.Ordinal);
        Assert.True(status.GetProperty("retry").GetProperty("attempt").GetInt32() >= 3);
    }

    [Fact]
    public async Task Call_SlowBackend_AnswersAndStaysHealthy()
    {
        using var harness = new LifecycleHarness();
        harness.WriteConfig(new JsonObject { ["kid"] = Stdio("--name", "kid", "--slow", "500") });
        await using var proxy = await ProxyProcess.StartHttpAsync(["--config", harness.ConfigPath]);
        await using var client = await proxy.ConnectAsync();
        await WaitForStatusAsync(client, "kid", s => s.GetProperty("state").GetString() == "healthy");

        var watch = Stopwatch.StartNew();
        var result = await client.CallToolAsync("kid__echo", Args(("text", "late")));
        watch.Stop();

        Assert.Equal("kid: late", Text(result));
        Assert.True(watch.ElapsedMilliseconds >= 450, $"answered in {watch.ElapsedMilliseconds} ms");
        Assert.Equal("healthy", (await ServerStatusAsync(client, "kid")).GetProperty("state").GetString());
    }

    [Fact]
    public async Task Call_BackendWritesGarbageOnStdout_GarbageIsSkippedAndCallsWork()
    {
        using var harness = new LifecycleHarness();
        harness.WriteConfig(new JsonObject { ["kid"] = Stdio("--name", "kid", "--garbage") });
        await using var proxy = await ProxyProcess.StartHttpAsync(["--config", harness.ConfigPath]);
        await using var client = await proxy.ConnectAsync();
        await WaitForStatusAsync(client, "kid", s => s.GetProperty("state").GetString() == "healthy");

        output.WriteLine(string.Join("\n", proxy.StderrLines));
        output.WriteLine((await client.ListToolsAsync()).Count.ToString(CultureInfo.InvariantCulture));
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal($"kid: {i}", Text(await client.CallToolAsync("kid__echo", Args(("text", i.ToString(CultureInfo.InvariantCulture))))));
        }

        var status = await ServerStatusAsync(client, "kid");
        Assert.Equal("healthy", status.GetProperty("state").GetString());
        Assert.Equal(0, status.GetProperty("errors").GetInt32());
    }

    [Fact]
    public async Task Call_HttpBackendKilledMidCall_FailsAtOnce()
    {
        await using var backend = await TestServerProcess.StartAsync("--name", "web");
        using var harness = new LifecycleHarness();
        harness.WriteConfig(new JsonObject { ["web"] = new JsonObject { ["url"] = backend.Url.ToString() } });
        await using var proxy = await ProxyProcess.StartHttpAsync(["--config", harness.ConfigPath]);
        await using var client = await proxy.ConnectAsync();
        await WaitForStatusAsync(client, "web", s => s.GetProperty("state").GetString() == "healthy");

        var call = client.CallToolAsync("web__slow", Args(("ms", 600_000))).AsTask();
        await WaitForStatusAsync(client, "web", s => s.GetProperty("inFlight").GetInt32() == 1);
        var watch = Stopwatch.StartNew();
        backend.Kill();
        var error = await Assert.ThrowsAsync<McpProtocolException>(() => call);
        watch.Stop();

        output.WriteLine($"HTTP backend killed mid-call: failed {watch.ElapsedMilliseconds} ms after the kill: {error.Message}");
        Assert.InRange(watch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(3));
        Assert.Contains("Server 'web' is unavailable", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Call_HttpBackendRestartedOnSamePort_SessionReinitialisedTransparently()
    {
        await using var first = await TestServerProcess.StartAsync("--name", "web");
        var port = first.Url.Port;
        using var harness = new LifecycleHarness();
        harness.WriteConfig(new JsonObject { ["web"] = new JsonObject { ["url"] = first.Url.ToString() } });
        await using var proxy = await ProxyProcess.StartHttpAsync(["--config", harness.ConfigPath, "--log-level", "Debug"]);
        await using var client = await proxy.ConnectAsync();
        await WaitForStatusAsync(client, "web", s => s.GetProperty("state").GetString() == "healthy");
        Assert.Equal("web: one", Text(await client.CallToolAsync("web__echo", Args(("text", "one")))));

        // The backend restarts between two calls, faster than any health check: it no longer knows the proxy's session.
        first.Kill();
        await first.DisposeAsync();
        await using var second = await TestServerProcess.StartOnPortAsync(port, "--name", "web");
        CallToolResult result;
        try
        {
            result = await client.CallToolAsync("web__echo", Args(("text", "two")));
        }
        finally
        {
            output.WriteLine(string.Join("\n", proxy.StderrLines));
        }

        Assert.Equal("web: two", Text(result));
        var status = await ServerStatusAsync(client, "web");
        output.WriteLine($"after the restart: {status}");
        Assert.Equal("healthy", status.GetProperty("state").GetString());
        Assert.Contains(proxy.StderrLines, l => l.Contains("no longer knew the session", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Environment_ProxySecret_NeverReachesStdioBackend()
    {
        using var harness = new LifecycleHarness();
        var dump = harness.Directory.Combine("env.txt");
        var script = $"env > '{dump}'; exec '{TestServerCommand.Command}' '{TestPaths.TestServerDll}' --name kid";
        harness.WriteConfig(new JsonObject
        {
            ["kid"] = new JsonObject
            {
                ["command"] = "/bin/sh",
                ["args"] = new JsonArray("-c", script),
                ["env"] = new JsonObject { ["DECLARED"] = "yes", ["FROM_PROXY"] = "${env:MMP_TEST_PASSED_ON}" },
            },
        });
        var environment = new Dictionary<string, string?> { ["MMP_TEST_SECRET"] = "s3cr3t-value", ["MMP_TEST_PASSED_ON"] = "asked-for" };
        await using var proxy = await ProxyProcess.StartHttpAsync(["--config", harness.ConfigPath], environment);
        await using var client = await proxy.ConnectAsync();
        await WaitForStatusAsync(client, "kid", s => s.GetProperty("state").GetString() == "healthy");

        var variables = File.ReadAllLines(dump).Select(l => l.Split('=', 2)[0]).ToHashSet();
        var text = File.ReadAllText(dump);

        output.WriteLine($"the backend got: {string.Join(", ", variables.Order())}");
        Assert.DoesNotContain("s3cr3t-value", text, StringComparison.Ordinal);
        Assert.DoesNotContain("MMP_TEST_SECRET", variables);
        Assert.Contains("PATH", variables);
        Assert.Contains("DECLARED=yes", text, StringComparison.Ordinal);
        Assert.Contains("FROM_PROXY=asked-for", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sigterm_CallsInFlight_FinishWithinGraceRestCancelledExitZero()
    {
        using var harness = new LifecycleHarness();
        harness.WriteConfig(new JsonObject { ["kid"] = harness.StdioWithGrandchild("kid") }, new JsonObject { ["shutdownGraceSeconds"] = 3 });
        await using var proxy = await ProxyProcess.StartHttpAsync(["--config", harness.ConfigPath]);
        await using var client = await proxy.ConnectAsync();
        var group = await harness.WaitForBackendWithGrandchildAsync("kid");
        await WaitForStatusAsync(client, "kid", s => s.GetProperty("state").GetString() == "healthy");

        var quick = client.CallToolAsync("kid__slow", Args(("ms", 1000))).AsTask();
        var stuck = client.CallToolAsync("kid__slow", Args(("ms", 600_000))).AsTask();
        await WaitForStatusAsync(client, "kid", s => s.GetProperty("inFlight").GetInt32() == 2);
        var watch = Stopwatch.StartNew();
        Assert.True(ProcessGroups.SignalProcess(proxy.Pid, ProcessGroups.SigTerm));

        Assert.Equal("kid: slept 1000 ms", Text(await quick));
        var cancelled = await Assert.ThrowsAsync<McpProtocolException>(() => stuck);
        var exitCode = await proxy.Process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        watch.Stop();

        output.WriteLine($"SIGTERM with 2 calls in flight: quick call answered, stuck call: {cancelled.Message}; exit {exitCode} after {watch.ElapsedMilliseconds} ms");
        Assert.Contains("shutting down", cancelled.Message, StringComparison.Ordinal);
        Assert.Equal(0, exitCode);
        Assert.Contains(proxy.StderrLines, l => l.Contains("Shutting down: 1 call(s) finished, 1 cancelled", StringComparison.Ordinal));
        Assert.True(await ProcessTable.WaitUntilAsync(() => ProcessTable.LiveInGroup(group).Count == 0));
    }
}
