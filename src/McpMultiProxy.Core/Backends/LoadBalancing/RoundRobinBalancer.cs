namespace McpMultiProxy.Backends.LoadBalancing;

/// <summary>Each call to the next ready replica in turn.</summary>
public sealed class RoundRobinBalancer : ILoadBalancer
{
    private uint _next;

    /// <inheritdoc/>
    public Replica? Pick(IReadOnlyList<Replica> ready) =>
        ready.Count == 0 ? null : ready[(int)(Interlocked.Increment(ref _next) % (uint)ready.Count)];
}
