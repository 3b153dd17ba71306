namespace McpMultiProxy.Health;

/// <summary>
/// Counters and response times of one backend replica. Thread-safe; cheap on the call path
/// (interlocked counters, a small ring of recent samples and a ring of per-interval totals for charts).
/// </summary>
public sealed class BackendStats
{
    /// <summary>How many history intervals are kept: with <see cref="HistoryInterval"/> of 5 s, the last 15 minutes.</summary>
    public const int HistoryLength = 180;

    private const int Window = 256;
    internal const long HistoryIntervalMs = 5000;
    private readonly double[] _samples = new double[Window];
    private readonly HistoryPoint[] _history = new HistoryPoint[HistoryLength];
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private long _sampleCount;
    private double _totalMs;
    private long _calls;
    private long _errors;
    private long _timeouts;
    private long _inFlight;
    private int _consecutiveFailures;

    /// <summary>Creates empty stats; <paramref name="time"/> places samples in history intervals (the system clock when null).</summary>
    public BackendStats(TimeProvider? time = null) => _time = time ?? TimeProvider.System;

    /// <summary>Width of one interval of <see cref="History"/>.</summary>
    public static TimeSpan HistoryInterval { get; } = TimeSpan.FromMilliseconds(HistoryIntervalMs);

    /// <summary>Calls forwarded.</summary>
    public long Calls => Interlocked.Read(ref _calls);

    /// <summary>Calls that failed (transport errors, timeouts, JSON-RPC errors).</summary>
    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>Calls that timed out.</summary>
    public long Timeouts => Interlocked.Read(ref _timeouts);

    /// <summary>Calls under way now.</summary>
    public long InFlight => Interlocked.Read(ref _inFlight);

    /// <summary>Failures in a row, calls and pings alike; reset by a success.</summary>
    public int ConsecutiveFailures => Volatile.Read(ref _consecutiveFailures);

    /// <summary>Marks a call as started.</summary>
    public void CallStarted()
    {
        Interlocked.Increment(ref _calls);
        Interlocked.Increment(ref _inFlight);
    }

    /// <summary>Marks a call as finished.</summary>
    public void CallFinished(double elapsedMs, CallOutcome outcome)
    {
        Interlocked.Decrement(ref _inFlight);
        switch (outcome)
        {
            case CallOutcome.Success:
                Volatile.Write(ref _consecutiveFailures, 0);
                break;
            case CallOutcome.Error:
                // The backend answered with an error: it is alive, so its health is not in question.
                Interlocked.Increment(ref _errors);
                Volatile.Write(ref _consecutiveFailures, 0);
                break;
            default:
                Interlocked.Increment(ref _errors);
                if (outcome == CallOutcome.Timeout)
                {
                    Interlocked.Increment(ref _timeouts);
                }

                Interlocked.Increment(ref _consecutiveFailures);
                break;
        }

        RecordLatency(elapsedMs, call: true, failed: outcome != CallOutcome.Success);
    }

    /// <summary>Records a ping result.</summary>
    public void PingFinished(double elapsedMs, bool failed)
    {
        if (failed)
        {
            Interlocked.Increment(ref _consecutiveFailures);
            lock (_lock)
            {
                CurrentInterval().Errors++;
            }
        }
        else
        {
            Volatile.Write(ref _consecutiveFailures, 0);
            RecordLatency(elapsedMs, call: false, failed: false);
        }
    }

    /// <summary>Clears the failure streak (after a reconnect).</summary>
    public void ResetFailures() => Volatile.Write(ref _consecutiveFailures, 0);

    /// <summary>A consistent copy of the figures.</summary>
    public StatsSnapshot Snapshot()
    {
        double[] recent;
        long count;
        double total;
        lock (_lock)
        {
            count = _sampleCount;
            total = _totalMs;
            var n = (int)Math.Min(count, Window);
            recent = new double[n];
            Array.Copy(_samples, recent, n);
        }

        double? last = null, avg = null, p95 = null;
        if (count > 0)
        {
            last = _samples[(int)((count - 1) % Window)];
            avg = total / count;
            Array.Sort(recent);
            p95 = recent[Math.Min(recent.Length - 1, (int)Math.Ceiling(recent.Length * 0.95) - 1)];
        }

        return new StatsSnapshot(Calls, Errors, Timeouts, InFlight, ConsecutiveFailures, last, avg, p95);
    }

    /// <summary>
    /// Per-interval totals of calls and pings over the last <see cref="HistoryLength"/> intervals, oldest first;
    /// intervals without any sample are left out.
    /// </summary>
    public IReadOnlyList<HistoryPoint> History()
    {
        var oldest = Slot() - HistoryLength + 1;
        var points = new List<HistoryPoint>();
        lock (_lock)
        {
            foreach (var point in _history)
            {
                if (point.Slot >= oldest && (point.Samples > 0 || point.Errors > 0))
                {
                    points.Add(point);
                }
            }
        }

        points.Sort((a, b) => a.Slot.CompareTo(b.Slot));
        return points;
    }

    private void RecordLatency(double ms, bool call, bool failed)
    {
        lock (_lock)
        {
            _samples[(int)(_sampleCount % Window)] = ms;
            _sampleCount++;
            _totalMs += ms;
            ref var point = ref CurrentInterval();
            point.Samples++;
            point.TotalMs += ms;
            point.MaxMs = Math.Max(point.MaxMs, ms);
            point.Calls += call ? 1 : 0;
            point.Errors += failed ? 1 : 0;
        }
    }

    private long Slot() => _time.GetUtcNow().ToUnixTimeMilliseconds() / HistoryIntervalMs;

    /// <summary>The history slot of now, cleared if it last held an older interval. Call under the lock.</summary>
    private ref HistoryPoint CurrentInterval()
    {
        var slot = Slot();
        ref var point = ref _history[(int)(slot % HistoryLength)];
        if (point.Slot != slot)
        {
            point = new HistoryPoint { Slot = slot };
        }

        return ref point;
    }
}

/// <summary>
/// Totals of one history interval: calls, failed calls and pings, and the response times of calls and pings
/// alike (so that an idle backend still shows how fast it answers its health pings).
/// </summary>
public record struct HistoryPoint
{
    /// <summary>The interval's number: its start in Unix milliseconds divided by the interval width.</summary>
    public long Slot { get; set; }

    /// <summary>Calls finished in the interval.</summary>
    public int Calls { get; set; }

    /// <summary>Calls and pings that failed in the interval.</summary>
    public int Errors { get; set; }

    /// <summary>Response times recorded (calls and successful pings).</summary>
    public int Samples { get; set; }

    /// <summary>Sum of those response times, in milliseconds.</summary>
    public double TotalMs { get; set; }

    /// <summary>The slowest of them, in milliseconds.</summary>
    public double MaxMs { get; set; }

    /// <summary>When the interval started.</summary>
    public readonly DateTimeOffset Start => DateTimeOffset.FromUnixTimeMilliseconds(Slot * BackendStats.HistoryIntervalMs);

    /// <summary>Mean response time, or null without samples.</summary>
    public readonly double? AverageMs => Samples == 0 ? null : TotalMs / Samples;

    /// <summary>Adds another replica's totals for the same interval.</summary>
    public readonly HistoryPoint Plus(HistoryPoint other) => this with
    {
        Calls = Calls + other.Calls,
        Errors = Errors + other.Errors,
        Samples = Samples + other.Samples,
        TotalMs = TotalMs + other.TotalMs,
        MaxMs = Math.Max(MaxMs, other.MaxMs),
    };
}

/// <summary>How a forwarded call ended.</summary>
public enum CallOutcome
{
    /// <summary>Answered.</summary>
    Success,

    /// <summary>Answered with a JSON-RPC error: the backend works, the request did not.</summary>
    Error,

    /// <summary>No answer: the connection failed.</summary>
    Failure,

    /// <summary>No answer in time.</summary>
    Timeout,
}

/// <summary>Figures of one replica at one moment. Times in milliseconds.</summary>
public sealed record StatsSnapshot(
    long Calls,
    long Errors,
    long Timeouts,
    long InFlight,
    int ConsecutiveFailures,
    double? LastMs,
    double? AverageMs,
    double? P95Ms)
{
    /// <summary>All zero.</summary>
    public static StatsSnapshot Empty { get; } = new(0, 0, 0, 0, 0, null, null, null);

    /// <summary>Sums counters over replicas; response times are averaged and the worst p95 kept.</summary>
    public static StatsSnapshot Combine(IReadOnlyList<StatsSnapshot> parts)
    {
        if (parts.Count == 1)
        {
            return parts[0];
        }

        var withTimes = parts.Where(p => p.AverageMs is not null).ToList();
        return new StatsSnapshot(
            parts.Sum(p => p.Calls),
            parts.Sum(p => p.Errors),
            parts.Sum(p => p.Timeouts),
            parts.Sum(p => p.InFlight),
            parts.Count == 0 ? 0 : parts.Min(p => p.ConsecutiveFailures),
            withTimes.Select(p => p.LastMs).LastOrDefault(),
            withTimes.Count == 0 ? null : withTimes.Average(p => p.AverageMs!.Value),
            withTimes.Count == 0 ? null : withTimes.Max(p => p.P95Ms!.Value));
    }
}
