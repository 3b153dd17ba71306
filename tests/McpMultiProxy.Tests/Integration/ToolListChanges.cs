using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace McpMultiProxy.Tests.Integration;

/// <summary>
/// Counts the <c>notifications/tools/list_changed</c> a client receives, and waits for the next ones. A client of the
/// 2026-07-28 revision gets them only on a <c>subscriptions/listen</c> stream, which this opens as such a client would.
/// </summary>
internal sealed class ToolListChanges : IAsyncDisposable
{
    private readonly McpClient _client;
    private readonly IAsyncDisposable _registration;
    private readonly CancellationTokenSource _stopListening = new();
    private Task? _listen;
    private int _count;
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ToolListChanges(McpClient client)
    {
        _client = client;
        _registration = client.RegisterNotificationHandler(NotificationMethods.ToolListChangedNotification, (_, _) =>
        {
            Interlocked.Increment(ref _count);
            Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            return default;
        });
    }

    /// <summary>Notifications received so far.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Starts counting the notifications <paramref name="client"/> receives (from now on, once this returns).</summary>
    public static async Task<ToolListChanges> WatchAsync(McpClient client, CancellationToken cancellationToken)
    {
        var changes = new ToolListChanges(client);
        if (string.CompareOrdinal(client.NegotiatedProtocolVersion, "2026-07-28") >= 0)
        {
            var acknowledged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await using var onAck = client.RegisterNotificationHandler(NotificationMethods.SubscriptionsAcknowledgedNotification, (_, _) =>
            {
                acknowledged.TrySetResult();
                return default;
            });
            changes._listen = client.SendRequestAsync<SubscriptionsListenRequestParams, EmptyResult>(
                RequestMethods.SubscriptionsListen,
                new SubscriptionsListenRequestParams { Notifications = new SubscriptionsListenNotifications { ToolsListChanged = true } },
                McpJsonUtilities.DefaultOptions,
                cancellationToken: changes._stopListening.Token).AsTask();
            await Task.WhenAny(acknowledged.Task, changes._listen).WaitAsync(cancellationToken);
            if (changes._listen.IsCompleted)
            {
                await changes._listen; // surfaces why the stream ended
                throw new InvalidOperationException("subscriptions/listen ended before it was acknowledged.");
            }
        }

        return changes;
    }

    /// <summary>
    /// Waits for a notification received after the first <paramref name="since"/>, then until <c>tools/list</c>
    /// satisfies <paramref name="condition"/>, looking again at each further notification. Returns the names then.
    /// </summary>
    public async Task<IReadOnlySet<string>> WaitAsync(int since, Func<IReadOnlySet<string>, bool> condition, string what, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? ProxyClient.LongTimeout);
        IReadOnlySet<string>? last = null;
        try
        {
            while (true)
            {
                var signal = Volatile.Read(ref _next).Task;
                if (Count > since)
                {
                    since = Count;
                    last = await _client.ToolNamesAsync(cts.Token);
                    if (condition(last))
                    {
                        return last;
                    }
                }

                await signal.WaitAsync(cts.Token);
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException(
                $"No tools/list_changed after which tools/list showed {what} within {timeout ?? ProxyClient.LongTimeout}: {Count} notification(s), " +
                $"last list: {(last is null ? "not read" : string.Join(", ", last.Order(StringComparer.Ordinal)))}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopListening.CancelAsync();
        if (_listen is not null)
        {
            try
            {
                await _listen;
            }
            catch (OperationCanceledException)
            {
            }
        }

        await _registration.DisposeAsync();
        _stopListening.Dispose();
    }
}
