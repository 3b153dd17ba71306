namespace McpMultiProxy.Backends;

/// <summary>A backend could not serve a request: not connected, crashed, timed out. The message names the backend and the reason.</summary>
public sealed class BackendUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public BackendUnavailableException(string backend, string reason, Exception? inner = null)
        : base($"Server '{backend}' is unavailable: {reason}", inner)
    {
        Backend = backend;
        Reason = reason;
    }

    /// <summary>Creates an empty exception.</summary>
    public BackendUnavailableException()
        : this("?", "unknown")
    {
    }

    /// <summary>Creates the exception from a message.</summary>
    public BackendUnavailableException(string message)
        : this("?", message)
    {
    }

    /// <summary>Creates the exception from a message and an inner exception.</summary>
    public BackendUnavailableException(string message, Exception innerException)
        : this("?", message, innerException)
    {
    }

    /// <summary>The backend's name.</summary>
    public string Backend { get; } = "?";

    /// <summary>Why it failed.</summary>
    public string Reason { get; } = "";

    /// <summary>True when the request surely never reached the backend, so it is safe to retry elsewhere.</summary>
    public bool NotSent { get; init; }

    /// <summary>True when an HTTP backend no longer knew the session (404): it is re-initialised and the call retried once.</summary>
    public bool SessionExpired { get; init; }
}

/// <summary>A call ran past its timeout; the backend was sent a cancellation.</summary>
public sealed class BackendTimeoutException : Exception
{
    /// <summary>Creates the exception.</summary>
    public BackendTimeoutException(string backend, TimeSpan timeout)
        : base($"Server '{backend}' did not answer within {timeout.TotalSeconds:0.###} s; the call was cancelled. Raise 'timeoutSeconds' for this server if it needs longer.")
    {
        Backend = backend;
    }

    /// <summary>Creates an empty exception.</summary>
    public BackendTimeoutException()
        : this("?", TimeSpan.Zero)
    {
    }

    /// <summary>Creates the exception from a message.</summary>
    public BackendTimeoutException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception from a message and an inner exception.</summary>
    public BackendTimeoutException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The backend's name.</summary>
    public string Backend { get; } = "?";
}
