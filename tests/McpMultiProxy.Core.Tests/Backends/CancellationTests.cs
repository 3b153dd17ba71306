using McpMultiProxy.Backends;
using static McpMultiProxy.Tests.Backends.InMemoryBackends;

namespace McpMultiProxy.Tests.Backends;

/// <summary>A cancelled call reaches the backend as <c>notifications/cancelled</c>, so it stops working on it.</summary>
public sealed class CancellationTests
{
    [Fact]
    public async Task SendAsync_CallerCancels_BackendIsToldToCancel()
    {
        // Regression: token callbacks run last-registered first, so the SDK's own wait used to unwind the call and
        // unregister the proxy's callback before it ran; no notification was ever sent.
        var backends = new InMemoryBackends();
        await using var backend = await backends.StartHealthyAsync(Config("web", "http://a.test/mcp"));
        using var cts = new CancellationTokenSource();
        var call = CallAsync(backend, "hang", cancellationToken: cts.Token);
        await WaitForAsync(() => backend.Replicas[0].Stats.InFlight == 1, "call in flight");

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await WaitForAsync(() => Volatile.Read(ref backends.HangsCancelled) == 1, "the backend saw the cancellation");
    }
}
