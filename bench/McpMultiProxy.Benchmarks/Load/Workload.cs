using System.Diagnostics;
using ModelContextProtocol.Client;

namespace McpMultiProxy.Benchmarks.Load;

/// <summary>What one timed run did: calls made, wall time, each call's latency, and the measured process's CPU time meanwhile.</summary>
internal sealed class Sample
{
    public int Calls { get; set; }

    public double Seconds { get; set; }

    public List<double> LatenciesMs { get; } = [];

    public TimeSpan Cpu { get; set; }

    public long Switches { get; set; }

    public double Rate => Calls / Math.Max(Seconds, 1e-9);

    public double Percentile(double p) => Stats.Percentile(LatenciesMs, p);

    /// <summary>Several percentiles of the latencies, sorting them once.</summary>
    public double[] Percentiles(params double[] ps) => Stats.Percentiles(LatenciesMs, ps);

    public void Add(Sample other)
    {
        Calls += other.Calls;
        Seconds += other.Seconds;
        LatenciesMs.AddRange(other.LatenciesMs);
        Cpu += other.Cpu;
        Switches += other.Switches;
    }
}

/// <summary>
/// One side of a comparison: the clients to drive (direct to the backend, or through the proxy), the tool name there,
/// and the process whose CPU time and thread wake-ups are read (the proxy; the backend on the direct side, when the
/// benchmark started it).
/// </summary>
internal sealed record Side(string Name, IReadOnlyList<McpClient> Clients, string Tool, Child? Measured);

/// <summary>Closed-loop load: a number of workers, each waiting for its answer before the next call, for a bounded time.</summary>
internal static class Workload
{
    /// <summary>
    /// Runs <paramref name="workers"/> loops over the side's clients (worker i uses client i mod count, so one client
    /// with 8 workers is "8 in flight on one session" and 8 clients is "8 sessions") until <paramref name="duration"/>
    /// has passed or <paramref name="maxCalls"/> calls were made.
    /// </summary>
    public static async Task<Sample> RunAsync(Side side, IReadOnlyDictionary<string, object?> arguments, int workers, TimeSpan duration, int maxCalls)
    {
        var sample = new Sample();
        var cpuBefore = side.Measured?.CpuTime() ?? TimeSpan.Zero;
        var switchesBefore = side.Measured?.VoluntarySwitches() ?? 0;
        var started = Stopwatch.GetTimestamp();
        var stopAt = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var remaining = maxCalls;
        var latencies = new List<double>[workers];
        var tasks = new Task[workers];
        for (var w = 0; w < workers; w++)
        {
            var client = side.Clients[w % side.Clients.Count];
            var mine = latencies[w] = new List<double>(1024);
            tasks[w] = Task.Run(async () =>
            {
                while (Stopwatch.GetTimestamp() < stopAt && Interlocked.Decrement(ref remaining) >= 0)
                {
                    var t0 = Stopwatch.GetTimestamp();
                    var result = await client.CallToolAsync(side.Tool, arguments);
                    mine.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                    if (result.IsError == true)
                    {
                        throw new InvalidOperationException($"{side.Name}: tool '{side.Tool}' answered an error");
                    }
                }
            });
        }

        await Task.WhenAll(tasks);
        sample.Seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        sample.Cpu = (side.Measured?.CpuTime() ?? TimeSpan.Zero) - cpuBefore;
        sample.Switches = (side.Measured?.VoluntarySwitches() ?? 0) - switchesBefore;
        foreach (var list in latencies)
        {
            sample.Calls += list.Count;
            sample.LatenciesMs.AddRange(list);
        }

        return sample;
    }

    /// <summary>
    /// Direct and proxy in alternating rounds (after a warm-up of each), so that noise from other work on the
    /// machine falls on both sides alike; returns the sums.
    /// </summary>
    public static async Task<(Sample Direct, Sample Proxy)> CompareAsync(
        Side direct, Side proxy, IReadOnlyDictionary<string, object?> arguments, int workers, Settings settings, double weight = 1)
    {
        var round = TimeSpan.FromSeconds(settings.RoundSeconds * weight);
        var maxCalls = settings.MaxCallsPerRound;
        await RunAsync(direct, arguments, workers, round / 2, maxCalls);
        await RunAsync(proxy, arguments, workers, round / 2, maxCalls);
        var d = new Sample();
        var p = new Sample();
        for (var i = 0; i < settings.Rounds; i++)
        {
            // Alternate who goes first as well: a slow spell then hurts neither side systematically.
            if (i % 2 == 0)
            {
                d.Add(await RunAsync(direct, arguments, workers, round, maxCalls));
                p.Add(await RunAsync(proxy, arguments, workers, round, maxCalls));
            }
            else
            {
                p.Add(await RunAsync(proxy, arguments, workers, round, maxCalls));
                d.Add(await RunAsync(direct, arguments, workers, round, maxCalls));
            }
        }

        return (d, p);
    }
}

/// <summary>Percentiles and friends.</summary>
internal static class Stats
{
    public static double Percentile(IReadOnlyCollection<double> values, double p) => Percentiles(values, p)[0];

    /// <summary>The percentiles <paramref name="ps"/> of <paramref name="values"/> (NaN when empty), sorting them once.</summary>
    public static double[] Percentiles(IReadOnlyCollection<double> values, params double[] ps)
    {
        if (values.Count == 0)
        {
            return [.. ps.Select(_ => double.NaN)];
        }

        var sorted = values.Order().ToArray();
        return [.. ps.Select(p => sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)])];
    }

    public static double Median(IReadOnlyCollection<double> values) => Percentile(values, 50);
}

/// <summary>How long and how much: the full run, or <c>--quick</c> for a smoke run of a few seconds.</summary>
internal sealed record Settings(bool Quick, double RoundSeconds, int Rounds, int MaxCallsPerRound, int StartRepeats, int ListCalls, double IdleSeconds)
{
    public static Settings Full { get; } = new(false, 1.5, 4, 200_000, 5, 400, 12);

    public static Settings QuickRun { get; } = new(true, 0.25, 1, 20_000, 1, 40, 1);
}
