using System.Diagnostics;
using System.Diagnostics.Metrics;
using McpMultiProxy.Health;
using McpMultiProxy.Management;
using McpMultiProxy.Routing;
using ModelContextProtocol.Protocol;

namespace McpMultiProxy.Telemetry;

/// <summary>How a forwarded request ended, as metrics, traces and usage figures see it.</summary>
public enum CallStatus
{
    /// <summary>Answered.</summary>
    Ok,

    /// <summary>A tool answered with an error result (<c>isError</c>): the backend works, the tool failed.</summary>
    ToolError,

    /// <summary>The backend answered with a JSON-RPC error.</summary>
    Error,

    /// <summary>The backend could not be reached, or the connection failed during the call.</summary>
    Unavailable,

    /// <summary>No answer in time.</summary>
    Timeout,

    /// <summary>The caller cancelled.</summary>
    Cancelled,
}

/// <summary>
/// The proxy's metrics (<see cref="System.Diagnostics.Metrics"/> meter <c>McpMultiProxy</c>) and traces
/// (<see cref="ActivitySource"/> <c>McpMultiProxy</c>), plus the per-tool usage figures and the recent-errors
/// log of the admin API. On the call path it costs a timestamp, three instrument updates (nothing when no
/// exporter listens) and a dictionary read; everything that can be read from live state (backend state,
/// restarts, in-flight calls, connected clients) is observed only when metrics are collected.
/// </summary>
public sealed class ProxyTelemetry : IDisposable
{
    /// <summary>Name of the meter and of the activity source.</summary>
    public const string Name = "McpMultiProxy";

    private static readonly HealthState[] States = [HealthState.Starting, HealthState.Healthy, HealthState.Degraded, HealthState.Unhealthy, HealthState.Disabled];

    private readonly Meter _meter;
    private readonly Counter<long> _calls;
    private readonly Counter<long> _errors;
    private readonly Histogram<double> _duration;
    private readonly IBackendRegistry _registry;
    private readonly TimeProvider _time;

    /// <summary>Creates the instruments; <paramref name="meterFactory"/> null makes a meter of its own.</summary>
    public ProxyTelemetry(IMeterFactory? meterFactory, IBackendRegistry registry, ClientSessions clients, ToolUsage usage, EventLog events, TimeProvider time)
    {
        _registry = registry;
        _time = time;
        Usage = usage;
        Events = events;
        _meter = meterFactory?.Create(Name, ProxyInfo.Version) ?? new Meter(Name, ProxyInfo.Version);
        _calls = _meter.CreateCounter<long>("mcpproxy.calls", "{call}", "Requests forwarded to backends, by backend, method and tool.");
        _errors = _meter.CreateCounter<long>("mcpproxy.errors", "{call}", "Forwarded requests that failed, by backend, method, tool and error type (tool_error, error, unavailable, timeout).");
        _duration = _meter.CreateHistogram(
            "mcpproxy.call.duration",
            "s",
            "Time from forwarding a request to its answer, by backend, method and tool.",
            tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });
        _meter.CreateObservableUpDownCounter("mcpproxy.calls.in_flight", ObserveInFlight, "{call}", "Forwarded requests waiting for their answer, by backend.");
        _meter.CreateObservableGauge("mcpproxy.backend.state", ObserveStates, description: "1 for the state each backend is in now (starting, healthy, degraded, unhealthy, disabled), 0 for the others.");
        _meter.CreateObservableCounter("mcpproxy.backend.restarts", ObserveRestarts, "{restart}", "Times a backend's connection was lost and rebuilt (a stdio server restarted), by backend.");
        _meter.CreateObservableUpDownCounter("mcpproxy.clients.connected", () => clients.Count, "{client}", "MCP client sessions connected to the proxy.");
    }

    /// <summary>The activity source of the proxied-call spans.</summary>
    public static ActivitySource ActivitySource { get; } = new(Name, ProxyInfo.Version);

    /// <summary>Per-tool usage figures.</summary>
    public ToolUsage Usage { get; }

    /// <summary>Recent state changes and errors.</summary>
    public EventLog Events { get; }

    /// <summary>
    /// Starts timing a request forwarded to <paramref name="backend"/>; <paramref name="tool"/> is the backend's own
    /// tool name for <c>tools/call</c>, else null. Finish it with <see cref="CallScope.Complete"/>.
    /// </summary>
    public CallScope Start(string backend, string method, string? tool)
    {
        Activity? activity = null;
        if (ActivitySource.HasListeners())
        {
            // A parent nobody records (ASP.NET Core's request activity, when no one traces HTTP) would make the default
            // parent-based sampler drop this span: start a trace of its own instead. The change of Activity.Current
            // stays within the caller's async method.
            if (Activity.Current is { Recorded: false })
            {
                Activity.Current = null;
            }

            activity = ActivitySource.StartActivity(tool is null ? method : $"{method} {tool}", ActivityKind.Client);
            if (activity is not null)
            {
                activity.SetTag("mcp.method.name", method);
                activity.SetTag("backend", backend);
                if (tool is not null)
                {
                    activity.SetTag("tool", tool);
                }
            }
        }

        return new CallScope(this, backend, method, tool, _time.GetTimestamp(), activity);
    }

    /// <inheritdoc/>
    public void Dispose() => _meter.Dispose();

    internal void Finish(in CallScope call, CallStatus status, string? error)
    {
        var now = _time.GetTimestamp();
        var elapsed = _time.GetElapsedTime(call.Started, now);
        var tags = new TagList { { "backend", call.Backend }, { "method", call.Method } };
        if (call.Tool is not null)
        {
            tags.Add("tool", call.Tool);
        }

        _calls.Add(1, tags);
        _duration.Record(elapsed.TotalSeconds, tags);
        var failed = status is not (CallStatus.Ok or CallStatus.Cancelled);
        if (failed)
        {
            tags.Add("error_type", ErrorType(status));
            _errors.Add(1, tags);
        }

        if (call.Tool is not null && status != CallStatus.Cancelled)
        {
            Usage.Record(call.Backend, call.Tool, elapsed, failed, now);
        }

        if (call.Activity is { } activity)
        {
            if (failed)
            {
                activity.SetTag("error.type", ErrorType(status));
                activity.SetStatus(ActivityStatusCode.Error, error);
            }

            activity.Dispose();
        }

        if (failed)
        {
            var what = call.Tool is null ? call.Method : $"tool '{call.Tool}'";
            Events.Append(ProxyEventKind.CallError, call.Backend, $"{what}: {Shorten(error ?? ErrorType(status))}");
        }
    }

    /// <summary>The first text of an error result, for the error log.</summary>
    public static string? ErrorText(CallToolResult result) =>
        result.Content.OfType<TextContentBlock>().FirstOrDefault()?.Text ?? NoErrorText;

    /// <summary>What the error log says for a failed tool whose result has no text.</summary>
    public const string NoErrorText = "the tool returned an error result";

    private static string ErrorType(CallStatus status) => status switch
    {
        CallStatus.ToolError => "tool_error",
        CallStatus.Error => "error",
        CallStatus.Unavailable => "unavailable",
        CallStatus.Timeout => "timeout",
        _ => "other",
    };

    private static string Shorten(string text) => text.Length <= 300 ? text : string.Concat(text.AsSpan(0, 299), "…");

    private IEnumerable<Measurement<long>> ObserveInFlight()
    {
        foreach (var backend in _registry.LiveBackends)
        {
            long inFlight = 0;
            foreach (var replica in backend.Replicas)
            {
                inFlight += replica.Stats.InFlight;
            }

            yield return new Measurement<long>(inFlight, new KeyValuePair<string, object?>("backend", backend.Name));
        }
    }

    private IEnumerable<Measurement<int>> ObserveStates()
    {
        foreach (var config in _registry.Config.Servers)
        {
            var state = _registry.StateOf(config);
            foreach (var s in States)
            {
                yield return new Measurement<int>(s == state ? 1 : 0, new("backend", config.Name), new("state", s.ToDisplay()));
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveRestarts()
    {
        foreach (var backend in _registry.LiveBackends)
        {
            long restarts = 0;
            foreach (var replica in backend.Replicas)
            {
                restarts += replica.Restarts;
            }

            yield return new Measurement<long>(restarts, new KeyValuePair<string, object?>("backend", backend.Name));
        }
    }
}

/// <summary>One forwarded request being timed; see <see cref="ProxyTelemetry.Start"/>.</summary>
public readonly struct CallScope
{
    private readonly ProxyTelemetry? _owner;

    internal CallScope(ProxyTelemetry owner, string backend, string method, string? tool, long started, Activity? activity)
    {
        _owner = owner;
        Backend = backend;
        Method = method;
        Tool = tool;
        Started = started;
        Activity = activity;
    }

    internal string Backend { get; }

    internal string Method { get; }

    internal string? Tool { get; }

    internal long Started { get; }

    internal Activity? Activity { get; }

    /// <summary>Records the outcome: counters, duration, usage, the span's status and, for failures, the error log.</summary>
    public void Complete(CallStatus status, string? error = null) => _owner?.Finish(this, status, error);
}
