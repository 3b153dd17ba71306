namespace McpMultiProxy.Backends.LoadBalancing;

/// <summary>Every call to the first ready replica in the order configured; the next only when it is down.</summary>
public sealed class FailoverBalancer : ILoadBalancer
{
    /// <inheritdoc/>
    public Replica? Pick(IReadOnlyList<Replica> ready) => ready.Count == 0 ? null : ready.MinBy(r => r.Index);
}
