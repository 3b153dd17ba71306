using McpMultiProxy.Telemetry;
using Microsoft.Extensions.Time.Testing;

namespace McpMultiProxy.Tests.Telemetry;

public sealed class ToolUsageTests
{
    private static readonly DateTimeOffset Start = DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void Record_CountsCallsFailuresAndAverageTimePerTool()
    {
        var time = new FakeTimeProvider(Start);
        var usage = new ToolUsage(time);
        usage.Record("a", "echo", TimeSpan.FromMilliseconds(10), failed: false, time.GetTimestamp());
        usage.Record("b", "echo", TimeSpan.FromMilliseconds(5), failed: false, time.GetTimestamp());
        time.Advance(TimeSpan.FromSeconds(1));
        usage.Record("a", "echo", TimeSpan.FromMilliseconds(30), failed: true, time.GetTimestamp());
        time.Advance(TimeSpan.FromMinutes(1));

        var entries = usage.Snapshot();

        var a = entries[0];
        Assert.Equal(("a", "echo", 2L, 1L), (a.Backend, a.Tool, a.Calls, a.Failures));
        Assert.Equal(20, a.AverageMs, 3);
        Assert.Equal(0.5, a.FailureRate);
        Assert.Equal(Start.AddSeconds(1), a.LastCallAt);
        Assert.Equal(("b", 1L, 0.0), (entries[1].Backend, entries[1].Calls, entries[1].FailureRate));
    }

    [Fact]
    public void Record_FromManyThreads_LosesNoCall()
    {
        var usage = new ToolUsage(TimeProvider.System);
        Parallel.For(0, 10_000, i => usage.Record("a", $"t{i % 4}", TimeSpan.FromTicks(10), failed: i % 10 == 0, 0));

        var entries = usage.Snapshot();

        Assert.Equal(10_000, entries.Sum(e => e.Calls));
        Assert.Equal(1_000, entries.Sum(e => e.Failures));
    }

    [Fact]
    public void Forget_RemovesOnlyThatBackend()
    {
        var usage = new ToolUsage(TimeProvider.System);
        usage.Record("a", "x", TimeSpan.Zero, false, 0);
        usage.Record("b", "x", TimeSpan.Zero, false, 0);

        usage.Forget("a");

        Assert.Equal("b", Assert.Single(usage.Snapshot()).Backend);
    }
}
