using System.Diagnostics;
using System.Diagnostics.Metrics;
using McpMultiProxy.Routing;
using McpMultiProxy.Telemetry;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace McpMultiProxy.Tests.Telemetry;

public sealed class ProxyTelemetryTests
{
    [Fact]
    public void Complete_RecordsMeasurementsUsageAndErrors()
    {
        var time = new FakeTimeProvider();
        var registry = new FakeRegistry();
        registry.Set(FakeRegistry.Http("a"), FakeRegistry.Http("off", enabled: false));
        var events = new EventLog(time);
        using var telemetry = new ProxyTelemetry(null, registry, new ClientSessions(NullLogger<ClientSessions>.Instance), new ToolUsage(time), events, time);
        var measured = new List<(string Instrument, double Value, Dictionary<string, object?> Tags)>();
        using var listener = Listen(telemetry, measured);

        var ok = telemetry.Start("a", "tools/call", "echo");
        time.Advance(TimeSpan.FromMilliseconds(40));
        ok.Complete(CallStatus.Ok);
        telemetry.Start("a", "tools/call", "fail").Complete(CallStatus.ToolError, "failed as asked");
        telemetry.Start("a", "tools/call", "gone").Complete(CallStatus.Cancelled);
        telemetry.Start("a", "prompts/get", null).Complete(CallStatus.Timeout, "no answer in 1 s");
        listener.RecordObservableInstruments();

        Assert.Equal(4, measured.Count(m => m.Instrument == "mcpproxy.calls"));
        var duration = measured.Single(m => m.Instrument == "mcpproxy.call.duration" && Equals(m.Tags.GetValueOrDefault("tool"), "echo"));
        Assert.Equal(0.04, duration.Value, 6);
        Assert.Equal("a", duration.Tags["backend"]);
        var errorTypes = measured.Where(m => m.Instrument == "mcpproxy.errors").Select(m => m.Tags["error_type"]).ToList();
        Assert.Equal(["tool_error", "timeout"], errorTypes);
        var states = measured.Where(m => m.Instrument == "mcpproxy.backend.state" && m.Value == 1).Select(m => $"{m.Tags["backend"]}={m.Tags["state"]}");
        Assert.Equal(["a=starting", "off=disabled"], states);

        var usage = telemetry.Usage.Snapshot().ToDictionary(u => u.Tool);
        Assert.Equal(40, usage["echo"].AverageMs, 3);
        Assert.Equal(1, usage["fail"].Failures);
        Assert.False(usage.ContainsKey("gone"));
        Assert.Equal(["tool 'fail': failed as asked", "prompts/get: no answer in 1 s"], events.Recent().Select(e => e.Message));
    }

    [Fact]
    public void Start_WithATracingListener_MakesOneSpanWithBackendAndTool()
    {
        var time = new FakeTimeProvider();
        using var telemetry = new ProxyTelemetry(null, new FakeRegistry(), new ClientSessions(NullLogger<ClientSessions>.Instance), new ToolUsage(time), new EventLog(time), time);
        var spans = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == ProxyTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);

        telemetry.Start("a", "tools/call", "echo").Complete(CallStatus.Ok);
        telemetry.Start("a", "tools/call", "fail").Complete(CallStatus.Error, "boom");

        Assert.Equal(["tools/call echo", "tools/call fail"], spans.Select(s => s.DisplayName));
        Assert.Equal("a", spans[0].GetTagItem("backend"));
        Assert.Equal("echo", spans[0].GetTagItem("tool"));
        Assert.Equal(ActivityStatusCode.Unset, spans[0].Status);
        Assert.Equal((ActivityStatusCode.Error, "boom"), (spans[1].Status, spans[1].StatusDescription));
    }

    private static MeterListener Listen(ProxyTelemetry telemetry, List<(string, double, Dictionary<string, object?>)> measured)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == ProxyTelemetry.Name)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
            measured.Add((instrument.Name, value, new Dictionary<string, object?>(tags.ToArray())));
        listener.SetMeasurementEventCallback<long>((i, v, t, _) => Add(i, v, t));
        listener.SetMeasurementEventCallback<int>((i, v, t, _) => Add(i, v, t));
        listener.SetMeasurementEventCallback<double>((i, v, t, _) => Add(i, v, t));
        listener.Start();
        GC.KeepAlive(telemetry);
        return listener;
    }
}
