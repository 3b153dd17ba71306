using McpMultiProxy.Health;
using Microsoft.Extensions.Time.Testing;

namespace McpMultiProxy.Tests.Health;

public sealed class BackendStatsTests
{
    [Fact]
    public void Snapshot_CountsAndPercentiles()
    {
        var stats = new BackendStats();
        for (var i = 1; i <= 100; i++)
        {
            stats.CallStarted();
            stats.CallFinished(i, i % 10 == 0 ? CallOutcome.Timeout : CallOutcome.Success);
        }

        var s = stats.Snapshot();
        Assert.Equal(100, s.Calls);
        Assert.Equal(10, s.Errors);
        Assert.Equal(10, s.Timeouts);
        Assert.Equal(0, s.InFlight);
        Assert.Equal(100, s.LastMs);
        Assert.Equal(50.5, s.AverageMs);
        Assert.Equal(95, s.P95Ms);
    }

    [Fact]
    public void ConsecutiveFailures_ResetByAnswerIncludingJsonRpcError()
    {
        var stats = new BackendStats();
        stats.CallStarted();
        stats.CallFinished(1, CallOutcome.Failure);
        stats.PingFinished(0, failed: true);
        Assert.Equal(2, stats.ConsecutiveFailures);
        stats.CallStarted();
        stats.CallFinished(1, CallOutcome.Error);
        Assert.Equal(0, stats.ConsecutiveFailures);
        Assert.Equal(2, stats.Errors);
    }

    [Fact]
    public void History_GroupsCallsAndPingsPerInterval_AndForgetsAfterFifteenMinutes()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var stats = new BackendStats(time);
        stats.CallStarted();
        stats.CallFinished(10, CallOutcome.Success);
        stats.CallStarted();
        stats.CallFinished(30, CallOutcome.Timeout);
        stats.PingFinished(2, failed: false);
        time.Advance(BackendStats.HistoryInterval);
        stats.PingFinished(0, failed: true);

        var points = stats.History();

        Assert.Equal(2, points.Count);
        Assert.Equal((2, 1, 3), (points[0].Calls, points[0].Errors, points[0].Samples));
        Assert.Equal(14, points[0].AverageMs);
        Assert.Equal(30, points[0].MaxMs);
        Assert.Equal(time.GetUtcNow() - BackendStats.HistoryInterval, points[0].Start);
        Assert.Equal((0, 1, null), (points[1].Calls, points[1].Errors, points[1].AverageMs));

        time.Advance(BackendStats.HistoryInterval * (BackendStats.HistoryLength - 1));
        Assert.Equal(1, Assert.Single(stats.History()).Errors);
        time.Advance(BackendStats.HistoryInterval);
        Assert.Empty(stats.History());
    }

    [Fact]
    public void HistoryPoint_Plus_AddsReplicasOfOneInterval()
    {
        var a = new HistoryPoint { Slot = 1, Calls = 1, Samples = 1, TotalMs = 10, MaxMs = 10 };
        var b = new HistoryPoint { Slot = 1, Calls = 2, Errors = 1, Samples = 2, TotalMs = 50, MaxMs = 40 };

        var sum = a.Plus(b);

        Assert.Equal((3, 1, 3, 60.0, 40.0), (sum.Calls, sum.Errors, sum.Samples, sum.TotalMs, sum.MaxMs));
        Assert.Equal(20, sum.AverageMs);
    }
}
