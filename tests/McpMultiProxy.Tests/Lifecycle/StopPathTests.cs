using System.Text.Json.Nodes;
using McpMultiProxy.Backends.Processes;
using McpMultiProxy.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;
using static McpMultiProxy.Tests.Lifecycle.LifecycleHarness;

namespace McpMultiProxy.Tests.Lifecycle;

/// <summary>
/// Every way a stdio backend is stopped leaves nothing behind: the backend (a test server that spawned a
/// grandchild holding its stdout, like npx → node) and all of its process group are gone, checked in /proc by
/// process group, and the proxy has no unreaped child.
/// </summary>
public sealed class StopPathTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("remove")]
    [InlineData("disable")]
    public async Task Manage_RemoveOrDisableBackendWithGrandchild_WholeGroupGone(string action)
    {
        using var harness = new LifecycleHarness();
        harness.WriteConfig(new JsonObject { ["kid"] = harness.StdioWithGrandchild("kid"), ["other"] = Stdio("--name", "other") });
        await using var proxy = await ProxyProcess.StartHttpAsync(["--config", harness.ConfigPath]);
        await using var client = await proxy.ConnectAsync();
        var group = await harness.WaitForBackendWithGrandchildAsync("kid");
        var before = ProcessTable.LiveInGroup(group);

        await ToolAsync(client, "manage", ("action", action), ("name", "kid"));

        await AssertGoneAsync($"manage {action}", proxy.Pid, group, before);
    }

    [Fact]
    public async Task ConfigReload_DropsBackend_WholeGroupGone()
    {
        using var harness = new LifecycleHarness();
        harness.WriteConfig(new JsonObject { ["kid"] = harness.StdioWithGrandchild("kid"), ["other"] = Stdio("--name", "other") });
        await using var proxy = await ProxyProcess.StartHttpAsync(["--config", harness.ConfigPath]);
        var group = await harness.WaitForBackendWithGrandchildAsync("kid");
        var before = ProcessTable.LiveInGroup(group);

        harness.WriteConfig(new JsonObject { ["other"] = Stdio("--name", "other") });

        await AssertGoneAsync("config reload dropping it", proxy.Pid, group, before);
        await proxy.WaitForLineAsync(l => l.Contains("Config applied: 1 servers, 0 started, 1 stopped", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sigterm_ProxyWithBackends_ExitsZeroAndEveryGroupGone()
    {
        using var harness = new LifecycleHarness();
        harness.WriteConfig(new JsonObject { ["kid"] = harness.StdioWithGrandchild("kid"), ["kid2"] = harness.StdioWithGrandchild("kid2") });
        await using var proxy = await ProxyProcess.StartHttpAsync(["--config", harness.ConfigPath]);
        var groups = new[] { await harness.WaitForBackendWithGrandchildAsync("kid"), await harness.WaitForBackendWithGrandchildAsync("kid2") };
        var before = groups.SelectMany(ProcessTable.LiveInGroup).ToList();
        var descendants = ProcessTable.Descendants(proxy.Pid);

        Assert.True(ProcessGroups.SignalProcess(proxy.Pid, ProcessGroups.SigTerm));
        var exitCode = await proxy.Process.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(0, exitCode);
        await AssertGoneAsync("SIGTERM to the proxy", proxy.Pid, groups, before, descendants);
        Assert.Contains(proxy.StderrLines, l => l.Contains("Shutting down: 2 server(s) stopped", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StdinClosed_StdioProxy_ExitsZeroAndWholeGroupGone()
    {
        using var harness = new LifecycleHarness();
        harness.WriteConfig(new JsonObject { ["kid"] = harness.StdioWithGrandchild("kid") });
        var proxy = await ProxyProcess.StartStdioAsync(["--config", harness.ConfigPath]);
        await using var _ = proxy;
        var group = await harness.WaitForBackendWithGrandchildAsync("kid");
        var before = ProcessTable.LiveInGroup(group);
        var descendants = ProcessTable.Descendants(proxy.Pid);

        await proxy.Client!.DisposeAsync();
        proxy.Process.CloseStandardInput();
        var exitCode = await proxy.Process.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(0, exitCode);
        await AssertGoneAsync("stdin closed (stdio mode)", proxy.Pid, [group], before, descendants);
    }

    [Fact]
    public async Task Sigkill_Proxy_WatchdogStopsEveryGroup()
    {
        using var harness = new LifecycleHarness();
        harness.WriteConfig(new JsonObject { ["kid"] = harness.StdioWithGrandchild("kid"), ["kid2"] = harness.StdioWithGrandchild("kid2") });
        await using var proxy = await ProxyProcess.StartHttpAsync(["--config", harness.ConfigPath]);
        var groups = new[] { await harness.WaitForBackendWithGrandchildAsync("kid"), await harness.WaitForBackendWithGrandchildAsync("kid2") };
        var before = groups.SelectMany(ProcessTable.LiveInGroup).ToList();
        var descendants = ProcessTable.Descendants(proxy.Pid);
        Assert.Contains(descendants, p => p.Command == "sh" && p.Ppid == proxy.Pid);

        // Only the proxy: SIGKILL leaves it no chance to stop anything itself.
        Assert.True(ProcessGroups.SignalProcess(proxy.Pid, ProcessGroups.SigKill));
        await proxy.Process.WaitForExitAsync(TimeSpan.FromSeconds(30));

        await AssertGoneAsync("SIGKILL of the proxy", proxy.Pid, groups, before, descendants);
    }

    private Task AssertGoneAsync(string path, int proxyPid, int group, IReadOnlyList<ProcessEntry> before) =>
        AssertGoneAsync(path, proxyPid, [group], before, []);

    private async Task AssertGoneAsync(string path, int proxyPid, int[] groups, IReadOnlyList<ProcessEntry> before, IReadOnlyList<ProcessEntry> descendants)
    {
        var atOnce = groups.Sum(g => ProcessTable.LiveInGroup(g).Count);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var gone = await ProcessTable.WaitUntilAsync(() => groups.All(g => ProcessTable.LiveInGroup(g).Count == 0) && descendants.All(d => ProcessTable.IsGone(d.Pid)));
        var left = groups.SelectMany(ProcessTable.LiveInGroup).Concat(descendants.Where(d => !ProcessTable.IsGone(d.Pid))).Distinct().ToList();
        var unreaped = ProcessTable.UnreapedChildrenOf(proxyPid);
        output.WriteLine(
            $"{path}: {before.Count} backend process(es) before [{ProcessTable.Describe(before)}]; {atOnce} still running when the stop returned, " +
            $"{left.Count} after {watch.ElapsedMilliseconds} ms; {unreaped.Count} unreaped child(ren) of the proxy");
        Assert.True(gone, $"{path}: still running: {ProcessTable.Describe(left)}");
        Assert.Empty(unreaped);
    }
}
