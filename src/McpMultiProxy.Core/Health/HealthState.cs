namespace McpMultiProxy.Health;

/// <summary>Where a backend (or one replica of it) stands.</summary>
public enum HealthState
{
    /// <summary>Connecting for the first time.</summary>
    Starting,

    /// <summary>Connected and answering.</summary>
    Healthy,

    /// <summary>Connected, but recent calls or pings failed or timed out.</summary>
    Degraded,

    /// <summary>Not connected: failed to start, crashed, or stopped answering. Reconnect is under way.</summary>
    Unhealthy,

    /// <summary>Turned off by an operator.</summary>
    Disabled,
}

/// <summary>Names as users see them.</summary>
public static class HealthStateNames
{
    /// <summary>The lower-case name used in status output.</summary>
    public static string ToDisplay(this HealthState state) => state switch
    {
        HealthState.Starting => "starting",
        HealthState.Healthy => "healthy",
        HealthState.Degraded => "degraded",
        HealthState.Unhealthy => "unhealthy",
        _ => "disabled",
    };

    /// <summary>True when the backend's tools are served.</summary>
    public static bool IsReady(this HealthState state) => state is HealthState.Healthy or HealthState.Degraded;
}
