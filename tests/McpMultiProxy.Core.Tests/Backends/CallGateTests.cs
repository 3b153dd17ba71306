using McpMultiProxy.Backends;
using static McpMultiProxy.Tests.Backends.InMemoryBackends;

namespace McpMultiProxy.Tests.Backends;

/// <summary>Graceful shutdown of calls: refuse new ones, let those in flight run to the deadline, cancel the rest.</summary>
public sealed class CallGateTests
{
    [Fact]
    public async Task DrainAsync_NothingInFlight_ReturnsAtOnce()
    {
        using var gate = new CallGate();
        var backends = new InMemoryBackends();

        var result = await gate.DrainAsync(TimeSpan.FromSeconds(5), backends.Time, CancellationToken.None);

        Assert.Equal((0, 0), result);
        Assert.True(gate.IsClosed);
    }

    [Fact]
    public async Task DrainAsync_CallStillRunningAtDeadline_RefusesNewCallsThenCancelsIt()
    {
        var backends = new InMemoryBackends();
        using var gate = new CallGate();
        await using var backend = await backends.StartHealthyAsync(Config("web", "http://a.test/mcp"), gate);
        var running = CallAsync(backend, "hang");
        Assert.Equal(1, gate.InFlight);

        var drain = gate.DrainAsync(TimeSpan.FromSeconds(5), backends.Time, CancellationToken.None);
        var refused = await Assert.ThrowsAsync<BackendUnavailableException>(() => CallAsync(backend, "echo"));
        backends.Time.Advance(TimeSpan.FromSeconds(4.9));
        await Task.Delay(50);
        Assert.False(running.IsCompleted);
        backends.Time.Advance(TimeSpan.FromSeconds(0.2));

        var cancelled = await Assert.ThrowsAsync<BackendUnavailableException>(() => running);
        Assert.Equal((0, 1), await drain);
        Assert.True(refused.NotSent);
        Assert.Contains("shutting down", refused.Message, StringComparison.Ordinal);
        Assert.Contains("did not finish in time; it was cancelled", cancelled.Message, StringComparison.Ordinal);
        await WaitForAsync(() => Volatile.Read(ref backends.HangsCancelled) == 1, "the backend was told to cancel");
        Assert.Equal(0, gate.InFlight);
    }
}
