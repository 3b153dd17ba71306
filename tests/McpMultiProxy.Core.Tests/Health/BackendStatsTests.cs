using McpMultiProxy.Health;

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
}
