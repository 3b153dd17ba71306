using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using McpMultiProxy.Tests.Infrastructure;
using ModelContextProtocol;
using Xunit;
using Xunit.Abstractions;
using static McpMultiProxy.Tests.Infrastructure.McpTestClient;
using static McpMultiProxy.Tests.Lifecycle.LifecycleHarness;

namespace McpMultiProxy.Tests.Lifecycle;

/// <summary>
/// One backend served by three real HTTP test-server processes (<c>"urls"</c>), round-robin: one replica is killed
/// half-way through 200 calls made by four concurrent callers. Read-only calls never fail (a call that was on the
/// dead replica is retried on another); a non-idempotent call that may have run fails with an error naming why.
/// </summary>
public sealed class LoadBalancingProcessTests(ITestOutputHelper output)
{
    private const int Calls = 200;
    private const int Callers = 4;

    [Fact]
    public async Task RoundRobin_ThreeReplicasOneKilledMidRun_NoReadOnlyCallFails()
    {
        // Each call takes 20 ms at the replica, so calls are in flight on the replica when it is killed.
        await using var r0 = await TestServerProcess.StartAsync("--name", "r0", "--slow", "20");
        await using var r1 = await TestServerProcess.StartAsync("--name", "r1", "--slow", "20");
        await using var r2 = await TestServerProcess.StartAsync("--name", "r2", "--slow", "20");
        using var harness = new LifecycleHarness();
        harness.WriteConfig(new JsonObject
        {
            ["pool"] = new JsonObject
            {
                ["urls"] = new JsonArray(r0.Url.ToString(), r1.Url.ToString(), r2.Url.ToString()),
                ["loadBalancing"] = "round-robin",
            },
        });
        await using var proxy = await ProxyProcess.StartHttpAsync(["--config", harness.ConfigPath]);
        await using var client = await proxy.ConnectAsync();
        await WaitForStatusAsync(client, "pool", s => s.GetProperty("state").GetString() == "healthy");

        var perReplica = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var failed = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var errors = new ConcurrentBag<string>();
        var next = 0;
        var killed = 0;
        var afterKill = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);

        async Task CallerAsync()
        {
            while (true)
            {
                var n = Interlocked.Increment(ref next);
                if (n > Calls)
                {
                    return;
                }

                if (n == (Calls / 2) + 1)
                {
                    r1.Kill();
                    Volatile.Write(ref killed, 1);
                }

                var kind = n % 2 == 0 ? "read-only" : "non-idempotent";
                var tool = kind == "read-only" ? "pool__read_only_echo" : "pool__echo";
                var after = Volatile.Read(ref killed) == 1;
                try
                {
                    var text = Text(await client.CallToolAsync(tool, Args(("text", n.ToString(CultureInfo.InvariantCulture)))));
                    var replica = text[..text.IndexOf(':', StringComparison.Ordinal)];
                    perReplica.AddOrUpdate(replica, 1, (_, c) => c + 1);
                    if (after)
                    {
                        afterKill.AddOrUpdate(replica, 1, (_, c) => c + 1);
                    }
                }
                catch (McpProtocolException ex)
                {
                    failed.AddOrUpdate(kind, 1, (_, c) => c + 1);
                    errors.Add($"{kind} call {n}: {ex.Message}");
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Callers).Select(_ => Task.Run(CallerAsync)));

        var status = await WaitForStatusAsync(client, "pool", s => s.GetProperty("state").GetString() == "degraded");
        var replicas = status.GetProperty("replicas").EnumerateArray()
            .Select(r => $"{r.GetProperty("target").GetString()}: {r.GetProperty("state").GetString()}, calls={r.GetProperty("calls").GetInt32()}, errors={r.GetProperty("errors").GetInt32()}")
            .ToList();
        output.WriteLine($"{Calls} calls by {Callers} callers over 3 replicas, r1 killed before call {(Calls / 2) + 1}:");
        output.WriteLine($"  failed: read-only={failed.GetValueOrDefault("read-only")}, non-idempotent={failed.GetValueOrDefault("non-idempotent")}");
        output.WriteLine($"  answered by: {string.Join(", ", perReplica.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"))}");
        output.WriteLine($"  answered after the kill by: {string.Join(", ", afterKill.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"))}");
        output.WriteLine($"  proxy_status replicas: {string.Join(" | ", replicas)}");
        foreach (var error in errors)
        {
            output.WriteLine($"  {error}");
        }

        Assert.Equal(0, failed.GetValueOrDefault("read-only"));

        // Only calls already sent to r1 when it died may fail, and each says why it was not retried.
        Assert.InRange(failed.GetValueOrDefault("non-idempotent"), 0, Callers);
        Assert.All(errors, e => Assert.Contains("the request may have run there, so it was not retried", e, StringComparison.Ordinal));
        Assert.Equal(Calls, perReplica.Values.Sum() + failed.Values.Sum());
        Assert.True(perReplica.GetValueOrDefault("r0") > Calls / 6 && perReplica.GetValueOrDefault("r2") > Calls / 6, "the surviving replicas did not share the load");
        Assert.InRange(perReplica.GetValueOrDefault("r1"), 1, Calls / 2);
    }
}
