using System.Collections.Concurrent;

namespace McpMultiProxy.Telemetry;

/// <summary>
/// Usage of each backend tool since the proxy started: calls, failures, time spent. One dictionary read and a
/// few interlocked adds per call, and no clock read of its own: the caller's timestamp is kept and turned into a
/// time only when figures are read. Only tools that exist in the catalog are ever called, so the set stays small.
/// </summary>
public sealed class ToolUsage(TimeProvider time)
{
    private readonly ConcurrentDictionary<(string Backend, string Tool), Counters> _tools = new();

    /// <summary>
    /// Counts one finished call of <paramref name="tool"/> (the backend's own name) of <paramref name="backend"/> that
    /// ended at <paramref name="timestamp"/> (<see cref="TimeProvider.GetTimestamp"/> of this usage's clock).
    /// </summary>
    public void Record(string backend, string tool, TimeSpan elapsed, bool failed, long timestamp)
    {
        if (!_tools.TryGetValue((backend, tool), out var counters))
        {
            counters = _tools.GetOrAdd((backend, tool), _ => new Counters());
        }

        Interlocked.Increment(ref counters.Calls);
        if (failed)
        {
            Interlocked.Increment(ref counters.Failures);
        }

        Interlocked.Add(ref counters.Ticks, elapsed.Ticks);
        Volatile.Write(ref counters.LastTimestamp, timestamp);
    }

    /// <summary>Every tool called so far, most called first.</summary>
    public IReadOnlyList<ToolUsageEntry> Snapshot()
    {
        var now = time.GetUtcNow();
        return [.. _tools
            .Select(kv =>
            {
                var c = kv.Value;
                var calls = Interlocked.Read(ref c.Calls);
                var failures = Interlocked.Read(ref c.Failures);
                var ms = TimeSpan.FromTicks(Interlocked.Read(ref c.Ticks)).TotalMilliseconds;
                return new ToolUsageEntry(
                    kv.Key.Backend,
                    kv.Key.Tool,
                    calls,
                    failures,
                    calls == 0 ? 0 : ms / calls,
                    now - time.GetElapsedTime(Volatile.Read(ref c.LastTimestamp)));
            })
            .OrderByDescending(e => e.Calls)
            .ThenBy(e => e.Backend, StringComparer.Ordinal)
            .ThenBy(e => e.Tool, StringComparer.Ordinal)];
    }

    /// <summary>Forgets a backend's tools (it was removed).</summary>
    public void Forget(string backend)
    {
        foreach (var key in _tools.Keys)
        {
            if (key.Backend == backend)
            {
                _tools.TryRemove(key, out _);
            }
        }
    }

    private sealed class Counters
    {
        public long Calls;
        public long Failures;
        public long Ticks;
        public long LastTimestamp;
    }
}

/// <summary>Usage figures of one tool.</summary>
/// <param name="Backend">The backend that serves it.</param>
/// <param name="Tool">The tool's name at its backend.</param>
/// <param name="Calls">Calls finished.</param>
/// <param name="Failures">Calls that failed or returned an error result.</param>
/// <param name="AverageMs">Mean time per call, in milliseconds.</param>
/// <param name="LastCallAt">When the last call finished.</param>
public sealed record ToolUsageEntry(string Backend, string Tool, long Calls, long Failures, double AverageMs, DateTimeOffset LastCallAt)
{
    /// <summary>Failures per call, 0 to 1.</summary>
    public double FailureRate => Calls == 0 ? 0 : (double)Failures / Calls;
}
