namespace McpMultiProxy.Backends;

/// <summary>
/// Reconnect delays: exponential from <see cref="Base"/> up to <see cref="Max"/>, with ±20 % jitter so
/// that many proxies restarting at once do not hammer a backend in step.
/// </summary>
public sealed record Backoff(TimeSpan Base, TimeSpan Max)
{
    /// <summary>1 s doubling up to 60 s.</summary>
    public static Backoff Default { get; } = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));

    /// <summary>How long a session must stay up before a crash counts as a fresh start rather than part of a crash loop.</summary>
    public TimeSpan StableAfter { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The delay before attempt <paramref name="attempt"/> (1-based); <paramref name="random"/> in [0, 1) gives the jitter.</summary>
    public TimeSpan DelayFor(int attempt, double random)
    {
        if (attempt <= 0)
        {
            return TimeSpan.Zero;
        }

        var exponent = Math.Min(attempt - 1, 30);
        var ms = Math.Min(Max.TotalMilliseconds, Base.TotalMilliseconds * Math.Pow(2, exponent));
        return TimeSpan.FromMilliseconds(ms * (0.8 + (0.4 * random)));
    }
}
