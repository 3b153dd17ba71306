using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using McpMultiProxy.Backends;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpMultiProxy.Routing;

/// <summary>
/// The clients connected to the proxy, and the way back to them: a backend's sampling, elicitation and
/// roots requests go to the client whose call is in flight; log messages go to the callers (or to
/// every client when none is calling) at each client's own level; resource updates go to the clients
/// subscribed to that resource.
/// </summary>
public sealed partial class ClientSessions(ILogger<ClientSessions> logger) : IClientBridge
{
    private readonly ConcurrentDictionary<McpServer, byte> _clients = new();
    private readonly ConcurrentDictionary<string, McpServer> _bySessionId = new(StringComparer.Ordinal);
    private McpServer? _stdio;
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<McpServer, RequestId>> _subscriptions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Listener, byte> _listeners = new();

    /// <summary>Clients connected now.</summary>
    public int Count => _clients.Count;

    /// <summary>Raised when a client connects or leaves.</summary>
    public event Action? Changed;

    /// <inheritdoc/>
    public event Action<McpServer>? ClientLeft;

    /// <summary>Registers a connected client session (HTTP session or the stdio client).</summary>
    public void Add(McpServer client)
    {
        _clients.TryAdd(client, 0);
        if (client.SessionId is { } id)
        {
            _bySessionId[id] = client;
        }
        else
        {
            _stdio = client;
        }

        Changed?.Invoke();
    }

    /// <summary>Forgets a client session and its subscriptions.</summary>
    public void Remove(McpServer client)
    {
        _clients.TryRemove(client, out _);
        if (client.SessionId is { } id)
        {
            _bySessionId.TryRemove(new KeyValuePair<string, McpServer>(id, client));
        }
        else if (ReferenceEquals(_stdio, client))
        {
            _stdio = null;
        }

        foreach (var subscribers in _subscriptions.Values)
        {
            subscribers.TryRemove(client, out _);
        }

        ClientLeft?.Invoke(client);
        Changed?.Invoke();
    }

    /// <summary>Runs a client session until it ends, registered (<see cref="Add"/>) for as long as it runs.</summary>
    public async Task RunAsync(McpServer client, CancellationToken cancellationToken)
    {
        Add(client);
        try
        {
            await client.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Remove(client);
        }
    }

    /// <inheritdoc/>
    public McpServer? SessionOf(McpServer requestServer)
    {
        if (_clients.ContainsKey(requestServer))
        {
            return requestServer;
        }

        if (requestServer.SessionId is { } id)
        {
            return _bySessionId.GetValueOrDefault(id);
        }

        // No session id: the stdio client, unless this is a stateless HTTP request (its server has no client capabilities).
        return _stdio is { } stdio && requestServer.ClientCapabilities is not null ? stdio : null;
    }

    /// <summary>
    /// Records a subscription; true when it is the first for that URI (so the backend must be asked).
    /// <paramref name="subscriptionId"/> tags updates for a 2026-era <c>subscriptions/listen</c> stream.
    /// </summary>
    public bool Subscribe(string uri, McpServer client, RequestId subscriptionId = default)
    {
        // Legacy subscriptions belong to the session, whose own channel carries later updates.
        client = subscriptionId.Id is null ? SessionOf(client) ?? client : client;
        var subscribers = _subscriptions.GetOrAdd(uri, _ => new ConcurrentDictionary<McpServer, RequestId>());
        return subscribers.TryAdd(client, subscriptionId) && subscribers.Count == 1;
    }

    /// <summary>Registers a 2026-era <c>subscriptions/listen</c> stream for list changes.</summary>
    public void AddListener(McpServer stream, RequestId id, SubscriptionsListenNotifications granted) => _listeners.TryAdd(new Listener(stream, id, granted), 0);

    /// <summary>Forgets a listen stream.</summary>
    public void RemoveListener(McpServer stream, RequestId id, SubscriptionsListenNotifications granted) => _listeners.TryRemove(new Listener(stream, id, granted), out _);

    /// <summary>
    /// Sends <c>list_changed</c> to every 2026-era listen stream that asked for it. (Sessions of earlier eras
    /// get theirs from the SDK, through the primitive collections.)
    /// </summary>
    public async Task NotifyListChangedAsync(ListKinds kinds)
    {
        foreach (var listener in _listeners.Keys)
        {
            var granted = listener.Granted;
            if (kinds.HasFlag(ListKinds.Tools) && granted.ToolsListChanged == true)
            {
                await SendTaggedAsync(listener.Stream, listener.Id, NotificationMethods.ToolListChangedNotification, null).ConfigureAwait(false);
            }

            if (kinds.HasFlag(ListKinds.Prompts) && granted.PromptsListChanged == true)
            {
                await SendTaggedAsync(listener.Stream, listener.Id, NotificationMethods.PromptListChangedNotification, null).ConfigureAwait(false);
            }

            if (kinds.HasFlag(ListKinds.Resources) && granted.ResourcesListChanged == true)
            {
                await SendTaggedAsync(listener.Stream, listener.Id, NotificationMethods.ResourceListChangedNotification, null).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Sends a notification on a listen stream, tagged with its subscription id as the 2026 revision requires.</summary>
    public async Task SendTaggedAsync(McpServer stream, RequestId id, string method, JsonNode? parameters)
    {
        var body = parameters as JsonObject ?? [];
        if (body["_meta"] is not JsonObject meta)
        {
            meta = [];
            body["_meta"] = meta;
        }

        meta[MetaKeys.SubscriptionId] = id.Id switch
        {
            string s => JsonValue.Create(s),
            long l => JsonValue.Create(l),
            _ => null,
        };
        try
        {
            await stream.SendMessageAsync(new JsonRpcNotification { Method = method, Params = body }, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogForwardFailed(logger, method, ex.Message);
        }
    }

    /// <summary>Drops a subscription; true when no client is subscribed to that URI any more.</summary>
    public bool Unsubscribe(string uri, McpServer client) =>
        _subscriptions.TryGetValue(uri, out var subscribers)
        && (subscribers.TryRemove(client, out _) || (SessionOf(client) is { } session && subscribers.TryRemove(session, out _)))
        && subscribers.IsEmpty;

    /// <inheritdoc/>
    public McpServer? ResolveClient(IReadOnlyCollection<McpServer> callersInFlight)
    {
        if (callersInFlight.Count == 1)
        {
            return callersInFlight.First();
        }

        // Several calls in flight are fine when they all come from one client session.
        if (callersInFlight.Count > 1 && callersInFlight.Select(c => c.SessionId).Distinct().Count() == 1 && callersInFlight.First().SessionId is not null)
        {
            return callersInFlight.Last();
        }

        if (callersInFlight.Count == 0 && _clients.Count == 1)
        {
            return _clients.Keys.First();
        }

        return null;
    }

    /// <inheritdoc/>
    public async ValueTask ForwardLogAsync(string backend, LoggingMessageNotificationParams message, IReadOnlyCollection<McpServer> callersInFlight)
    {
        var targets = callersInFlight.Count > 0 ? callersInFlight : (IReadOnlyCollection<McpServer>)[.. _clients.Keys];
        var forwarded = new LoggingMessageNotificationParams { Level = message.Level, Logger = message.Logger ?? backend, Data = message.Data, Meta = message.Meta };
        foreach (var client in targets)
        {
            if (client.LoggingLevel is { } min && message.Level < min)
            {
                continue;
            }

            await SendAsync(client, NotificationMethods.LoggingMessageNotification, forwarded).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async ValueTask ForwardResourceUpdatedAsync(string backend, string uri)
    {
        if (!_subscriptions.TryGetValue(uri, out var subscribers))
        {
            return;
        }

        foreach (var (client, subscriptionId) in subscribers)
        {
            if (subscriptionId.Id is null)
            {
                await SendAsync(client, NotificationMethods.ResourceUpdatedNotification, new ResourceUpdatedNotificationParams { Uri = uri }).ConfigureAwait(false);
            }
            else
            {
                await SendTaggedAsync(client, subscriptionId, NotificationMethods.ResourceUpdatedNotification, new JsonObject { ["uri"] = uri }).ConfigureAwait(false);
            }
        }
    }

    private async Task SendAsync<T>(McpServer client, string method, T parameters)
    {
        try
        {
            await client.SendNotificationAsync(method, parameters, McpJsonUtilities.DefaultOptions, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogForwardFailed(logger, method, ex.Message);
        }
    }

    private sealed record Listener(McpServer Stream, RequestId Id, SubscriptionsListenNotifications Granted);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Forwarding {Method} to a client failed: {Reason}")]
    private static partial void LogForwardFailed(ILogger logger, string method, string reason);
}
