using McpMultiProxy.Telemetry;
using Microsoft.Extensions.Time.Testing;

namespace McpMultiProxy.Tests.Telemetry;

public sealed class EventLogTests
{
    [Fact]
    public void Append_PastCapacity_KeepsTheNewestInOrder()
    {
        var log = new EventLog(new FakeTimeProvider());
        for (var i = 1; i <= EventLog.Capacity + 20; i++)
        {
            log.Append(ProxyEventKind.State, "a", $"event {i}");
        }

        var all = log.Recent();
        Assert.Equal(EventLog.Capacity, all.Count);
        Assert.Equal(21, all[0].Id);
        Assert.Equal(EventLog.Capacity + 20, all[^1].Id);
        Assert.Equal([EventLog.Capacity + 19, EventLog.Capacity + 20], log.Recent(limit: 2).Select(e => e.Id));
        Assert.Equal([EventLog.Capacity + 20], log.Recent(afterId: EventLog.Capacity + 19).Select(e => e.Id));
    }

    [Fact]
    public void Recent_WithFilter_ReturnsOnlyErrors()
    {
        var log = new EventLog(new FakeTimeProvider());
        log.Append(ProxyEventKind.Added, "a", "a: added");
        log.Append(ProxyEventKind.CallError, "a", "tool 'x': failed");
        log.Append(ProxyEventKind.ConnectionError, "b", "b: refused");

        var errors = log.Recent(filter: e => e.IsError);

        Assert.Equal(["tool 'x': failed", "b: refused"], errors.Select(e => e.Message));
    }

    [Fact]
    public async Task Subscribe_AfterId_ReplaysMissedEventsThenDeliversLiveOnes()
    {
        var log = new EventLog(new FakeTimeProvider());
        var first = log.Append(ProxyEventKind.Added, "a", "one");
        log.Append(ProxyEventKind.State, "a", "two");

        using var subscription = log.Subscribe(afterId: first.Id);
        log.Append(ProxyEventKind.Removed, "a", "three");

        var received = new List<string>();
        while (received.Count < 2)
        {
            received.Add((await subscription.Reader.ReadAsync()).Message);
        }

        Assert.Equal(["two", "three"], received);
    }

    [Fact]
    public void Subscribe_SlowReader_LosesItsOldestEventsNotTheWriter()
    {
        var log = new EventLog(new FakeTimeProvider());
        using var subscription = log.Subscribe();
        for (var i = 0; i < 1000; i++)
        {
            log.Append(ProxyEventKind.State, "a", $"{i}");
        }

        Assert.True(subscription.Reader.TryRead(out var oldest));
        Assert.NotEqual("0", oldest.Message);
        Assert.Equal(1000, log.Recent(afterId: 999).Single().Id);
    }

    [Fact]
    public void Dispose_Subscription_CompletesItsReader()
    {
        var log = new EventLog(new FakeTimeProvider());
        var subscription = log.Subscribe();
        subscription.Dispose();
        log.Append(ProxyEventKind.State, "a", "after");

        Assert.True(subscription.Reader.Completion.IsCompleted);
    }
}
