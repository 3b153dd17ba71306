using McpMultiProxy.Configuration;

namespace McpMultiProxy.Backends.LoadBalancing;

/// <summary>Chooses the replica for the next call among those that are ready. One policy per file.</summary>
public interface ILoadBalancer
{
    /// <summary>The chosen replica, or null when <paramref name="ready"/> is empty.</summary>
    Replica? Pick(IReadOnlyList<Replica> ready);
}

/// <summary>Creates the policy a backend's config asks for.</summary>
public static class LoadBalancers
{
    /// <summary>The policy for <paramref name="mode"/>.</summary>
    public static ILoadBalancer Create(LoadBalancingMode mode) => mode switch
    {
        LoadBalancingMode.LeastOutstanding => new LeastOutstandingBalancer(),
        LoadBalancingMode.Failover => new FailoverBalancer(),
        _ => new RoundRobinBalancer(),
    };
}
