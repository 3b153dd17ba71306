using McpMultiProxy.Backends;
using McpMultiProxy.Catalog;
using McpMultiProxy.Configuration;
using McpMultiProxy.Health;
using static McpMultiProxy.Tests.Backends.InMemoryBackends;

namespace McpMultiProxy.Tests.Backends;

/// <summary>Withdraw grace and the replica circuit, on a fake clock with in-memory backends.</summary>
public sealed class RecoveryTests
{
    private const string Url = "http://a.test/mcp";

    [Fact]
    public async Task Catalog_BackendRecoversWithinGrace_ToolsStayListedAndClientsSeeNoChange()
    {
        var backends = new InMemoryBackends();
        var catalog = new ProxyCatalog();
        var toolChanges = 0;
        catalog.Changed += kinds => Interlocked.Add(ref toolChanges, kinds.HasFlag(ListKinds.Tools) ? 1 : 0);
        await using var registry = backends.Registry(catalog, ProxySettings.Default, Config("web", Url));
        registry.Start();
        await WaitForAsync(() => catalog.Current.ToolRoutes.ContainsKey("web__echo"), "tools listed");
        var backend = registry.Live("web")!;
        var changesWhenUp = toolChanges;

        backends.Kill(Url);
        await WaitForAsync(() => backend.State == HealthState.Unhealthy, "unhealthy after the kill");

        Assert.True(catalog.Current.ToolRoutes.ContainsKey("web__echo"));
        Assert.Equal(backends.Time.GetUtcNow().AddSeconds(5), backend.WithdrawAt);
        var error = await Assert.ThrowsAsync<BackendUnavailableException>(() => CallAsync(backend, "echo"));
        Assert.StartsWith("Server 'web' is unavailable: the connection closed", error.Message, StringComparison.Ordinal);
        Assert.Contains("next reconnect attempt at", error.Message, StringComparison.Ordinal);

        backends.Time.Advance(TimeSpan.FromSeconds(1.25));
        await WaitForAsync(() => backend.State == HealthState.Healthy, "healthy after the first backoff");
        backends.Time.Advance(TimeSpan.FromSeconds(10));
        await Task.Delay(50);

        Assert.Null(backend.WithdrawAt);
        Assert.True(catalog.Current.ToolRoutes.ContainsKey("web__echo"));
        Assert.Equal(changesWhenUp, toolChanges);
        Assert.Equal(Url, Text(await CallAsync(backend, "whoami")));
    }

    [Fact]
    public async Task SessionEnds_RestartIsCountedTogetherWithUnhealthy_NotWhileTheOldSessionCloses()
    {
        var backends = new InMemoryBackends();
        var closing = new TaskCompletionSource();
        await using var backend = await backends.StartHealthyAsync(Config("web", Url));
        var replica = backend.Replicas[0];

        // Status says healthy only once a catalog lists the backend's tools (no registry here: set as it would).
        Assert.Equal(HealthState.Starting, backend.ServedState);
        backend.ServedState = HealthState.Healthy;
        backends.CloseGate = closing.Task;
        try
        {
            backends.Kill(Url);
            await WaitForAsync(() => replica.Restarts == 1, "the restart counted");

            // The old session is still closing and no catalog was rebuilt: whoever reads the restart must not read
            // "healthy" beside it, neither live nor in what status reports.
            Assert.False(closing.Task.IsCompleted);
            Assert.Equal(HealthState.Unhealthy, replica.State);
            Assert.Equal(HealthState.Unhealthy, backend.State);
            Assert.Equal(HealthState.Unhealthy, backend.ServedState);
            Assert.StartsWith("the connection closed", replica.Status().LastError, StringComparison.Ordinal);
        }
        finally
        {
            closing.SetResult();
        }

        backends.Time.Advance(TimeSpan.FromSeconds(1.25));
        await WaitForAsync(() => backend.State == HealthState.Healthy && replica.Restarts == 1, "healthy again after the backoff");
    }

    [Fact]
    public async Task Catalog_BackendStaysDown_ToolsWithdrawnExactlyWhenGraceEnds()
    {
        var backends = new InMemoryBackends();
        var catalog = new ProxyCatalog();
        var settings = ProxySettings.Default with { WithdrawGraceSeconds = 5 };
        await using var registry = backends.Registry(catalog, settings, Config("web", Url));
        registry.Start();
        await WaitForAsync(() => catalog.Current.ToolRoutes.ContainsKey("web__echo"), "tools listed");
        var backend = registry.Live("web")!;

        backends.Refuse(Url);
        backends.Kill(Url);
        await WaitForAsync(() => backend.State == HealthState.Unhealthy, "unhealthy");
        backends.Time.Advance(TimeSpan.FromSeconds(4.9));
        await Task.Delay(50);
        Assert.True(catalog.Current.ToolRoutes.ContainsKey("web__echo"));

        backends.Time.Advance(TimeSpan.FromSeconds(0.2));
        await WaitForAsync(() => !catalog.Current.ToolRoutes.ContainsKey("web__echo"), "tools withdrawn after the grace");
        Assert.Null(backend.WithdrawAt);
    }

    [Fact]
    public async Task Catalog_GraceZero_ToolsWithdrawnAtOnce()
    {
        var backends = new InMemoryBackends();
        var catalog = new ProxyCatalog();
        await using var registry = backends.Registry(catalog, ProxySettings.Default with { WithdrawGraceSeconds = 0 }, Config("web", Url));
        registry.Start();
        await WaitForAsync(() => catalog.Current.ToolRoutes.ContainsKey("web__echo"), "tools listed");

        backends.Refuse(Url);
        backends.Kill(Url);

        await WaitForAsync(() => !catalog.Current.ToolRoutes.ContainsKey("web__echo"), "tools withdrawn");
    }

    [Fact]
    public async Task Circuit_ThreeTimeoutsInARow_OpensFailsFastThenClosesAfterProbe()
    {
        var backends = new InMemoryBackends();
        var catalog = new ProxyCatalog();
        await using var registry = backends.Registry(catalog, ProxySettings.Default with { CallTimeoutSeconds = 1 }, Config("web", Url));
        registry.Start();
        await WaitForAsync(() => registry.Live("web")?.State == HealthState.Healthy, "healthy");
        var backend = registry.Live("web")!;
        var replica = backend.Replicas[0];

        for (var i = 1; i <= Replica.FailuresBeforeReconnect; i++)
        {
            var call = CallAsync(backend, "hang");
            backends.Time.Advance(TimeSpan.FromSeconds(1.01));
            await Assert.ThrowsAsync<BackendTimeoutException>(() => call);
        }

        await WaitForAsync(() => replica.Status().Circuit == CircuitState.Open, "circuit open");
        await WaitForAsync(() => Volatile.Read(ref backends.HangsCancelled) == 3, "the backend was told to cancel each timed-out call");
        var status = replica.Status();
        Assert.Equal(HealthState.Unhealthy, status.State);
        Assert.Equal(1, status.RetryAttempt);
        Assert.Contains("did not answer within 1 s", status.LastError, StringComparison.Ordinal);
        var fast = await Assert.ThrowsAsync<BackendUnavailableException>(() => CallAsync(backend, "echo"));
        Assert.Contains("did not answer within 1 s", fast.Message, StringComparison.Ordinal);

        backends.Time.Advance(TimeSpan.FromSeconds(1.25));
        await WaitForAsync(() => replica.Status().Circuit == CircuitState.Closed && replica.State == HealthState.Healthy, "circuit closed after the reconnect probe");
        Assert.Equal(Url, Text(await CallAsync(backend, "whoami")));
    }

    [Fact]
    public async Task RetryNow_WhileWaitingOutTheBackoff_ReconnectsWithoutWaiting()
    {
        var backends = new InMemoryBackends();
        await using var backend = new Backend(Config("web", Url), backends.Services(), Backoff.Default);
        backends.Refuse(Url);
        backend.Start();
        await WaitForAsync(() => backend.Replicas[0].Status().Circuit == CircuitState.Open, "circuit open after the refused connect");

        backends.Refuse(Url, refuse: false);
        Assert.True(backend.Replicas[0].RetryNow());

        await WaitForAsync(() => backend.State == HealthState.Healthy, "healthy without advancing the clock");
        Assert.Equal(2, backends.Connects);
    }
}
