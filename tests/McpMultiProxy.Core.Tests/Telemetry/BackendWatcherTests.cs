using McpMultiProxy.Telemetry;
using Microsoft.Extensions.Time.Testing;

namespace McpMultiProxy.Tests.Telemetry;

public sealed class BackendWatcherTests
{
    [Fact]
    public void Changed_AddDisableEnableRemove_LogsOneEventEach_WithRedactedTargets()
    {
        var registry = new FakeRegistry();
        registry.Set(FakeRegistry.Http("a"));
        var time = new FakeTimeProvider();
        var events = new EventLog(time);
        var usage = new ToolUsage(time);
        usage.Record("b", "x", TimeSpan.Zero, false, 0);
        using var watcher = new BackendWatcher(registry, events, usage);

        registry.Set(FakeRegistry.Http("a"), FakeRegistry.Http("b"));
        registry.Set(FakeRegistry.Http("a"), FakeRegistry.Http("b", enabled: false));
        registry.Set(FakeRegistry.Http("a"), FakeRegistry.Http("b"));
        registry.Set(FakeRegistry.Http("a"), FakeRegistry.Http("b"));
        registry.Set(FakeRegistry.Http("a"));

        Assert.Equal(
            ["b: added (http://127.0.0.1:1/mcp?token=***)", "b: disabled", "b: enabled", "b: removed"],
            events.Recent().Select(e => e.Message));
        Assert.Equal([ProxyEventKind.Added, ProxyEventKind.Disabled, ProxyEventKind.Enabled, ProxyEventKind.Removed], events.Recent().Select(e => e.Kind));
        Assert.Empty(usage.Snapshot());
    }
}
