using McpMultiProxy.Backends;
using McpMultiProxy.Catalog;
using McpMultiProxy.Configuration;
using McpMultiProxy.Health;
using static McpMultiProxy.Tests.Backends.InMemoryBackends;

namespace McpMultiProxy.Tests.Backends;

/// <summary>Replicas of one backend: policies over healthy replicas only, retries, and changing the replica set in place.</summary>
public sealed class LoadBalancingTests
{
    private static readonly string[] Urls = ["http://a.test/mcp", "http://b.test/mcp", "http://c.test/mcp"];

    [Fact]
    public async Task RoundRobin_OneOfThreeKilled_ReadOnlyCallsNeverFailAndSkipTheDeadReplica()
    {
        var backends = new InMemoryBackends();
        await using var backend = new Backend(Config("pool", Urls), backends.Services(), Backoff.Default);
        backend.Start();
        await WaitForAsync(() => backend.State == HealthState.Healthy, "all three healthy");
        var perReplica = Urls.ToDictionary(u => u, _ => 0);

        for (var i = 0; i < 60; i++)
        {
            perReplica[Text(await CallAsync(backend, "ro", retryable: true))]++;
        }

        backends.Refuse(Urls[1]);
        backends.Kill(Urls[1]);
        var afterKill = Urls.ToDictionary(u => u, _ => 0);
        for (var i = 0; i < 60; i++)
        {
            afterKill[Text(await CallAsync(backend, "ro", retryable: true))]++;
        }

        Assert.Equal([20, 20, 20], perReplica.Values);
        Assert.Equal(0, afterKill[Urls[1]]);
        Assert.Equal(60, afterKill[Urls[0]] + afterKill[Urls[2]]);
        Assert.Equal(HealthState.Degraded, backend.State);
    }

    [Fact]
    public async Task Failover_FirstReplicaDown_SecondServesUntilFirstReturns()
    {
        var backends = new InMemoryBackends();
        await using var backend = await backends.StartHealthyAsync(Config("pool", Urls) with { LoadBalancing = LoadBalancingMode.Failover });
        Assert.Equal(Urls[0], Text(await CallAsync(backend, "whoami")));

        backends.Kill(Urls[0]);
        await WaitForAsync(() => backend.Replicas[0].State == HealthState.Unhealthy, "first replica out");
        Assert.Equal(Urls[1], Text(await CallAsync(backend, "whoami")));

        backends.Time.Advance(TimeSpan.FromSeconds(1.25));
        await WaitForAsync(() => backend.Replicas[0].State == HealthState.Healthy, "first replica back");
        Assert.Equal(Urls[0], Text(await CallAsync(backend, "whoami")));
    }

    [Fact]
    public async Task LeastOutstanding_OneReplicaBusy_NextCallGoesToAnIdleOne()
    {
        var backends = new InMemoryBackends();
        await using var backend = await backends.StartHealthyAsync(Config("pool", Urls[0], Urls[1]) with { LoadBalancing = LoadBalancingMode.LeastOutstanding });
        using var cts = new CancellationTokenSource();

        var busy = CallAsync(backend, "hang", cancellationToken: cts.Token);
        var busyReplica = backend.Replicas.Single(r => r.Stats.InFlight == 1);

        Assert.NotEqual(busyReplica.Endpoint, Text(await CallAsync(backend, "whoami")));
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => busy);
    }

    [Fact]
    public async Task SendAsync_NotSentFailure_RetriedOnAnotherReplicaEvenWhenNotIdempotent()
    {
        var backends = new InMemoryBackends();
        await using var backend = await backends.StartHealthyAsync(Config("pool", Urls[0], Urls[1]) with { LoadBalancing = LoadBalancingMode.Failover });

        // The first replica is closed while the proxy still thinks it is up: the request fails before it is sent.
        await backend.Replicas[0].Session!.DisposeAsync();

        Assert.Equal(Urls[1], Text(await CallAsync(backend, "echo", retryable: false)));
    }

    [Fact]
    public async Task UpdateConfig_UrlAddedAndRemoved_KeptReplicasKeepTheirSessions()
    {
        var backends = new InMemoryBackends();
        var catalog = new ProxyCatalog();
        await using var registry = backends.Registry(catalog, ProxySettings.Default, Config("pool", Urls[0], Urls[1]));
        registry.Start();
        await WaitForAsync(() => registry.Live("pool")?.State == HealthState.Healthy, "healthy");
        var backend = registry.Live("pool")!;
        var keptReplica = backend.Replicas[1];
        var keptSession = keptReplica.Session;

        await registry.UpdateAsync(Config("pool", Urls[1], Urls[2]), CancellationToken.None);
        await WaitForAsync(() => backend.State == HealthState.Healthy && backend.Replicas.Count == 2, "new replica healthy");

        Assert.Same(backend, registry.Live("pool"));
        Assert.Same(keptReplica, backend.Replicas[0]);
        Assert.Same(keptSession, keptReplica.Session);
        Assert.Equal(0, keptReplica.Index);
        Assert.Equal(Urls[2], backend.Replicas[1].Endpoint);
        Assert.Equal(3, backends.Connects);
    }
}
