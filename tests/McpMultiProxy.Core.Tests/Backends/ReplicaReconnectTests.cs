using McpMultiProxy.Backends;
using McpMultiProxy.Configuration;
using McpMultiProxy.Health;
using McpMultiProxy.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ModelContextProtocol.Client;

namespace McpMultiProxy.Tests.Backends;

/// <summary>The reconnect schedule of a crash-looping backend, on a fake clock.</summary>
public sealed class ReplicaReconnectTests
{
    [Fact]
    public async Task FailingBackend_IsRetriedOnTheBackoffSchedule_NeverInATightLoop()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var factory = new FailingFactory();
        var services = new BackendServices(NullLoggerFactory.Instance, time, [factory], new ClientSessions(NullLogger<ClientSessions>.Instance), () => ProxySettings.Default);
        var config = new BackendConfig { Name = "broken", Transport = BackendTransport.Stdio, Command = "nothing" };
        await using var replica = new Replica(config, 0, services, Backoff.Default);

        replica.Start();
        await WaitForAsync(() => factory.Attempts == 1 && replica.State == HealthState.Unhealthy);
        Assert.Contains("cannot start", replica.Status().LastError, StringComparison.Ordinal);
        Assert.Equal(1, replica.Status().RetryAttempt);

        // Attempt 2 comes 0.8-1.2 s later, attempt 3 1.6-2.4 s after that, attempt 4 3.2-4.8 s after that.
        var expected = new[] { (0.79, 1.21), (1.59, 2.41), (3.19, 4.81) };
        foreach (var (notBefore, by) in expected)
        {
            var before = factory.Attempts;
            time.Advance(TimeSpan.FromSeconds(notBefore));
            await Task.Delay(50);
            Assert.Equal(before, factory.Attempts);
            time.Advance(TimeSpan.FromSeconds(by - notBefore));
            await WaitForAsync(() => factory.Attempts == before + 1);
        }

        // A minute of fake time with the delay capped at 60 s allows only a handful more attempts.
        var atMinute = factory.Attempts;
        for (var i = 0; i < 60; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(5);
        }

        Assert.InRange(factory.Attempts - atMinute, 1, 5);
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 3000 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }

    private sealed class FailingFactory : IBackendTransportFactory
    {
        private int _attempts;

        public int Attempts => Volatile.Read(ref _attempts);

        public bool Handles(BackendTransport transport) => true;

        public IClientTransport Create(BackendConfig config, int replica, ILoggerFactory loggerFactory)
        {
            Interlocked.Increment(ref _attempts);
            throw new InvalidOperationException("cannot start: the program does not exist");
        }
    }
}
