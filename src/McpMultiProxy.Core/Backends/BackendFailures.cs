using System.Net;
using ModelContextProtocol.Client;

namespace McpMultiProxy.Backends;

/// <summary>Reads what the SDK's exceptions say about a failed request: did it reach the backend, did the session expire.</summary>
internal static class BackendFailures
{
    /// <summary>
    /// True when the request surely was not processed: it could not be written, the connection could not be
    /// made, or the server no longer knew the session. Such a request may be retried anywhere.
    /// </summary>
    public static bool IsNotSent(Exception ex) => IsSessionExpired(ex) || Chain(ex).Any(e => e is MessageNotSentException
        or HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError });

    /// <summary>True when the connection itself was refused: the endpoint is down, no need to wait for more failures.</summary>
    public static bool IsConnectionRefused(Exception ex) =>
        Chain(ex).Any(e => e is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError });

    /// <summary>True for HTTP 404 on a request that carried a session id: the server restarted or dropped the session.</summary>
    public static bool IsSessionExpired(Exception ex) => Chain(ex).Any(e => e is HttpRequestException { StatusCode: HttpStatusCode.NotFound }
        or ClientTransportClosedException { Details: HttpClientCompletionDetails { HttpStatusCode: HttpStatusCode.NotFound } });

    /// <summary>True when a session ended because the server no longer knew it.</summary>
    public static bool IsSessionExpired(ClientCompletionDetails details) => details is HttpClientCompletionDetails { HttpStatusCode: HttpStatusCode.NotFound };

    /// <summary>Why a session ended, for people: exit code, HTTP 404, or the transport's error.</summary>
    public static string DescribeEnd(ClientCompletionDetails details) => details switch
    {
        _ when IsSessionExpired(details) => "the server no longer knew the session (HTTP 404; it restarted or expired it)",
        StdioClientCompletionDetails { ExitCode: { } code } => $"the process exited with code {code}",
        { Exception: { } ex } => $"the connection closed: {ex.Message}",
        _ => "the connection closed",
    };

    private static IEnumerable<Exception> Chain(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            yield return e;
        }
    }
}

/// <summary>A message could not be written to a backend at all (its process is gone), so it was surely not processed.</summary>
internal sealed class MessageNotSentException(string message, Exception? inner = null) : IOException(message, inner);
