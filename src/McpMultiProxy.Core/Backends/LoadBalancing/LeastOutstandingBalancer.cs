namespace McpMultiProxy.Backends.LoadBalancing;

/// <summary>Each call to the ready replica with the fewest calls in flight (ties: lowest index).</summary>
public sealed class LeastOutstandingBalancer : ILoadBalancer
{
    /// <inheritdoc/>
    public Replica? Pick(IReadOnlyList<Replica> ready)
    {
        Replica? best = null;
        var bestLoad = long.MaxValue;
        foreach (var replica in ready)
        {
            var load = replica.Stats.InFlight;
            if (load < bestLoad)
            {
                best = replica;
                bestLoad = load;
            }
        }

        return best;
    }
}
