using McpMultiProxy.Backends;

namespace McpMultiProxy.Tests.Backends;

public sealed class BackoffTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(7, 60)]
    [InlineData(50, 60)]
    public void DelayFor_DoublesUpToMax(int attempt, double seconds) =>
        Assert.Equal(seconds, Backoff.Default.DelayFor(attempt, 0.5).TotalSeconds, 3);

    [Fact]
    public void DelayFor_JitterStaysWithinTwentyPercent()
    {
        Assert.Equal(3.2, Backoff.Default.DelayFor(3, 0).TotalSeconds, 3);
        Assert.Equal(4.8, Backoff.Default.DelayFor(3, 0.99999).TotalSeconds, 2);
    }
}
