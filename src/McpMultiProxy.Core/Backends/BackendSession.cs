using System.Collections.Concurrent;
using System.Text.Json;
using McpMultiProxy.Configuration;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpMultiProxy.Backends;

/// <summary>
/// One warm SDK client session to one replica of a backend, reused for every call. Forwards requests with
/// request ids of its own, so that a cancellation can name the backend's request; maps progress tokens so
/// each caller gets only its own progress; tracks which clients have calls in flight so that a backend's
/// sampling, elicitation or roots request goes back to the client that caused it.
/// </summary>
internal sealed partial class BackendSession : IAsyncDisposable
{
    private const int MaxPages = 1000;
    private static long s_nextId;

    private readonly McpClient _client;
    private readonly string _name;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly IClientBridge _bridge;
    private readonly ConcurrentDictionary<string, ProgressRoute> _progress = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<McpServer, int> _callers = new();
    private readonly SemaphoreSlim _refreshGate = new(1, 1);
    private readonly CancellationTokenSource _listen = new();
    private volatile BackendLists _lists = BackendLists.Empty;
    private readonly Lock _logOrder = new();
    private Task _logChain = Task.CompletedTask;
    private int _disposed;

    private BackendSession(McpClient client, string name, BackendServices services, SessionCallbacks callbacks)
    {
        _client = client;
        _name = name;
        _logger = services.LoggerFactory.CreateLogger<BackendSession>();
        _time = services.TimeProvider;
        _bridge = services.Bridge;
        callbacks.Session = this;
    }

    /// <summary>Raised after a list was fetched again because the backend said it changed.</summary>
    public event Action<BackendSession, ListKinds>? ListsChanged;

    /// <summary>The backend's lists as last fetched.</summary>
    public BackendLists Lists => _lists;

    /// <summary>Completes when the session ends (process exit, connection lost, disposed).</summary>
    public Task<ClientCompletionDetails> Completion => _client.Completion;

    /// <summary>The backend's own server info.</summary>
    public Implementation? ServerInfo => _client.ServerInfo;

    /// <summary>The backend's instructions, if any.</summary>
    public string? Instructions => _client.ServerInstructions;

    /// <summary>The backend's capabilities.</summary>
    public ServerCapabilities Capabilities => _client.ServerCapabilities;

    /// <summary>The negotiated protocol version.</summary>
    public string? ProtocolVersion => _client.NegotiatedProtocolVersion;

    /// <summary>Clients with calls in flight on this session now.</summary>
    public IReadOnlyCollection<McpServer> CallersInFlight => (IReadOnlyCollection<McpServer>)_callers.Keys;

    /// <summary>Starts the transport, runs the handshake and reads every list.</summary>
    public static async Task<BackendSession> ConnectAsync(BackendConfig config, int replica, BackendServices services, CancellationToken cancellationToken)
    {
        var callbacks = new SessionCallbacks();
        var transport = new ObservedClientTransport(services.CreateTransport(config, replica), callbacks.Observe);
        var options = new McpClientOptions
        {
            ClientInfo = new Implementation { Name = "mcp-multiproxy", Version = ProxyInfo.Version },
            ProtocolVersion = config.ProtocolVersion ?? services.Settings().BackendProtocolVersion,
            InitializationTimeout = TimeSpan.FromSeconds(services.Settings().ConnectTimeoutSeconds),
            Handlers = new McpClientHandlers
            {
                SamplingHandler = (p, _, ct) => callbacks.SampleAsync(p, ct),
                ElicitationHandler = (p, ct) => callbacks.ElicitAsync(p, ct),
                RootsHandler = (p, ct) => callbacks.ListRootsAsync(p, ct),
                NotificationHandlers =
                [
                    new(NotificationMethods.ToolListChangedNotification, (_, _) => callbacks.OnListChanged(ListKinds.Tools)),
                    new(NotificationMethods.PromptListChangedNotification, (_, _) => callbacks.OnListChanged(ListKinds.Prompts)),
                    new(NotificationMethods.ResourceListChangedNotification, (_, _) => callbacks.OnListChanged(ListKinds.Resources)),
                    new(NotificationMethods.ResourceUpdatedNotification, (n, _) => callbacks.OnResourceUpdated(n)),
                ],
            },
        };

        var client = await McpClient.CreateAsync(transport, options, services.LoggerFactory, cancellationToken).ConfigureAwait(false);
        var session = new BackendSession(client, config.Name, services, callbacks);
        try
        {
            // Held while the first lists are read, so that a list_changed the backend sends right after the
            // handshake is applied on top of them rather than racing them.
            await session._refreshGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                session._lists = await session.FetchListsAsync(ListKinds.All, BackendLists.Empty, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                session._refreshGate.Release();
            }

            session.StartListening();
        }
        catch
        {
            await session.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return session;
    }

    /// <summary>Sends a request to the backend as a call made by <paramref name="caller"/>, with timeout and cancellation.</summary>
    /// <remarks>
    /// Hot path: one timer-backed <see cref="CancellationTokenSource"/> per call carries the timeout (reset by
    /// progress), the hard maximum (progress never pushes the timer past it) and the caller's cancellation (one
    /// registration, no linked source). Measured with <c>bench/</c>: the former three sources plus a linked one
    /// cost a second timer and about 0.5 KB per call.
    /// </remarks>
    public async Task<TResult> SendAsync<TParams, TResult>(string method, TParams parameters, CallOptions call, CancellationToken cancellationToken)
        where TParams : RequestParams
        where TResult : notnull
    {
        var id = new RequestId($"mmp-{Interlocked.Increment(ref s_nextId)}");
        var deadline = _time.GetTimestamp() + (long)(call.MaxTimeout.TotalSeconds * _time.TimestampFrequency);
        using var timeout = new CancellationTokenSource(call.Timeout < call.MaxTimeout ? call.Timeout : call.MaxTimeout, _time);
        using var forwardCancel = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), timeout)
            : default;
        using var forwardShutdown = call.Shutdown.CanBeCanceled
            ? call.Shutdown.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), timeout)
            : default;

        string? proxyToken = null;
        ProgressRoute? route = null;
        var callerMeta = parameters.Meta;
        if (call.Caller is { } caller)
        {
            _callers.AddOrUpdate(caller, 1, (_, n) => n + 1);
            if (parameters.ProgressToken is { } clientToken)
            {
                // The client's token is replaced by one unique to this call, so two clients using the same
                // token never see each other's progress.
                proxyToken = $"mmp-progress-{id.Id}";
                parameters.Meta = parameters.Meta is null ? [] : (System.Text.Json.Nodes.JsonObject)parameters.Meta.DeepClone();
                parameters.Meta["progressToken"] = proxyToken;
                _progress[proxyToken] = route = new ProgressRoute(caller, clientToken, timeout, call.Timeout, deadline, _time);
            }
        }

        try
        {
            var request = new JsonRpcRequest { Id = id, Method = method, Params = JsonSerializer.SerializeToNode(parameters, McpJsonUtilities.DefaultOptions.GetTypeInfo<TParams>()) };
            var response = await _client.SendRequestAsync(request, timeout.Token).ConfigureAwait(false);
            var result = Decode<TResult>(method, response.Result);
            if (call.Caller is not null)
            {
                await SettleNotificationsAsync(route).ConfigureAwait(false);
            }

            return result;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && timeout.IsCancellationRequested)
        {
            _ = SendCancelledAsync(id, "Timed out in mcp-multiproxy.");
            throw new BackendTimeoutException(_name, _time.GetTimestamp() >= deadline ? call.MaxTimeout : call.Timeout);
        }
        catch (McpProtocolException)
        {
            throw;
        }
        catch (Exception ex) when (Completion.IsCompleted)
        {
            throw Unavailable(ex);
        }
        catch (OperationCanceledException)
        {
            // The backend is told with its own request id (the SDK client does not send it by itself); a late
            // answer is then dropped because nobody waits for that id any more.
            _ = SendCancelledAsync(id, "The client cancelled the request.");
            throw;
        }
        catch (Exception ex)
        {
            throw Unavailable(ex);
        }
        finally
        {
            if (proxyToken is not null)
            {
                _progress.TryRemove(proxyToken, out _);

                // The caller's parameters get their own token back: a retry (on another replica, or after the
                // backend forgot the session) must map the client's token again, not this call's.
                parameters.Meta = callerMeta;
            }

            if (call.Caller is { } c && _callers.AddOrUpdate(c, 0, (_, n) => n - 1) <= 0)
            {
                _callers.TryRemove(new KeyValuePair<McpServer, int>(c, 0));
            }
        }
    }

    /// <summary>
    /// The result as <typeparamref name="TResult"/>, deserialised as the SDK client does, or read as a
    /// <see cref="RelayedToolResult"/>. A result that cannot be read so is the backend's protocol error, named as such
    /// (not a failure of the connection: the backend answered, and the next call may well be fine).
    /// </summary>
    private TResult Decode<TResult>(string method, System.Text.Json.Nodes.JsonNode? result)
        where TResult : notnull
    {
        try
        {
            return typeof(TResult) == typeof(RelayedToolResult)
                ? (TResult)(object)RelayedToolResult.Read(result, ProtocolVersion)
                : JsonSerializer.Deserialize(result, McpJsonUtilities.DefaultOptions.GetTypeInfo<TResult>())
                    ?? throw new JsonException("Unexpected JSON result in response.");
        }
        catch (JsonException ex)
        {
            throw new McpProtocolException($"Server '{_name}' answered {method} with a result that is not valid: {ex.Message}", McpErrorCode.InternalError);
        }
    }

    /// <summary>
    /// The error for a request that failed without an answer: why (the process's exit code, HTTP 404, the transport's
    /// error), whether it surely never reached the backend (safe to retry anywhere), and whether the session expired.
    /// </summary>
    private BackendUnavailableException Unavailable(Exception ex)
    {
        // The 404 may reach another request first (a health ping) and end the session: a request still waiting then
        // fails with "transport closed". It was sent after the server restarted (requests sent to the old server
        // failed when it died), so the new server refused it without running it, exactly as if it got the 404 itself.
        var expired = BackendFailures.IsSessionExpired(ex)
            || (Completion.IsCompletedSuccessfully && BackendFailures.IsSessionExpired(Completion.Result));
        var reason = expired ? "it no longer knew the session (HTTP 404)"
            : Completion.IsCompletedSuccessfully ? $"it stopped during the call: {BackendFailures.DescribeEnd(Completion.Result)}"
            : Completion.IsCompleted ? "its connection closed during the call" : ex.Message;
        return new BackendUnavailableException(_name, reason, ex) { NotSent = BackendFailures.IsNotSent(ex), SessionExpired = expired };
    }

    /// <summary>
    /// A backend of the 2026-07-28 era sends list changes only on a <c>subscriptions/listen</c> stream: open one
    /// for the life of the session. Its notifications arrive through the handlers registered at connect.
    /// </summary>
    private void StartListening()
    {
        if (!ProtocolRevisions.IsJuly2026OrLater(ProtocolVersion))
        {
            return;
        }

        var caps = _client.ServerCapabilities;
        var notifications = new SubscriptionsListenNotifications
        {
            ToolsListChanged = caps.Tools?.ListChanged == true ? true : null,
            PromptsListChanged = caps.Prompts?.ListChanged == true ? true : null,
            ResourcesListChanged = caps.Resources?.ListChanged == true ? true : null,
        };
        if (notifications.ToolsListChanged is null && notifications.PromptsListChanged is null && notifications.ResourcesListChanged is null)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                await _client.SendRequestAsync<SubscriptionsListenRequestParams, EmptyResult>(
                    RequestMethods.SubscriptionsListen,
                    new SubscriptionsListenRequestParams { Notifications = notifications },
                    McpJsonUtilities.DefaultOptions,
                    cancellationToken: _listen.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogRefreshFailed(_logger, _name, $"subscriptions/listen ended: {ex.Message}");
            }
            catch (OperationCanceledException)
            {
            }
        });
    }

    /// <summary>
    /// Progress and log notifications are queued for the client as they are read, before the result that follows
    /// them (see <see cref="ObservedClientTransport"/>); before the result goes back, let those queued sends
    /// finish, so the caller sees them first (on a stateless HTTP stream it could not get them later).
    /// </summary>
    private async Task SettleNotificationsAsync(ProgressRoute? route)
    {
        Task logs;
        lock (_logOrder)
        {
            logs = _logChain;
        }

        try
        {
            await logs.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // A slow or vanished client must not hold up the result.
        }

        if (route is not null)
        {
            await route.SettleAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Pings the backend; throws when it does not answer in time.</summary>
    public async Task PingAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, cts.Token);
        try
        {
            await _client.PingAsync(cancellationToken: linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new BackendTimeoutException(_name, timeout);
        }
    }

    /// <summary>Sends a notification to the backend (for example <c>logging/setLevel</c> is a request, this is for notifications).</summary>
    public Task NotifyAsync(string method, CancellationToken cancellationToken) => _client.SendNotificationAsync(method, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _listen.CancelAsync().ConfigureAwait(false);

        try
        {
            await _client.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogDisposeFailed(_logger, _name, ex.Message);
        }
    }

    private async Task SendCancelledAsync(RequestId id, string reason)
    {
        try
        {
            await _client.SendNotificationAsync(
                NotificationMethods.CancelledNotification,
                new CancelledNotificationParams { RequestId = id, Reason = reason },
                McpJsonUtilities.DefaultOptions,
                CancellationToken.None).ConfigureAwait(false);
            LogCancelSent(_logger, _name, id.ToString(), reason);
        }
        catch (Exception ex)
        {
            LogCancelFailed(_logger, _name, ex.Message);
        }
    }

    private async Task<BackendLists> FetchListsAsync(ListKinds kinds, BackendLists current, CancellationToken cancellationToken)
    {
        var caps = _client.ServerCapabilities;
        var tools = current.Tools;
        var prompts = current.Prompts;
        var resources = current.Resources;
        var templates = current.Templates;
        if (kinds.HasFlag(ListKinds.Tools) && caps.Tools is not null)
        {
            tools = await PageAsync<ListToolsRequestParams, ListToolsResult, Tool>(RequestMethods.ToolsList, r => r.Tools, cancellationToken).ConfigureAwait(false);
        }

        if (kinds.HasFlag(ListKinds.Prompts) && caps.Prompts is not null)
        {
            prompts = await PageAsync<ListPromptsRequestParams, ListPromptsResult, Prompt>(RequestMethods.PromptsList, r => r.Prompts, cancellationToken).ConfigureAwait(false);
        }

        if (kinds.HasFlag(ListKinds.Resources) && caps.Resources is not null)
        {
            resources = await PageAsync<ListResourcesRequestParams, ListResourcesResult, Resource>(RequestMethods.ResourcesList, r => r.Resources, cancellationToken).ConfigureAwait(false);
            templates = await PageAsync<ListResourceTemplatesRequestParams, ListResourceTemplatesResult, ResourceTemplate>(
                RequestMethods.ResourcesTemplatesList, r => r.ResourceTemplates, cancellationToken).ConfigureAwait(false);
        }

        return new BackendLists(tools, prompts, resources, templates);
    }

    private async Task<IReadOnlyList<TItem>> PageAsync<TParams, TResult, TItem>(string method, Func<TResult, IList<TItem>> items, CancellationToken cancellationToken)
        where TParams : PaginatedRequestParams, new()
        where TResult : PaginatedResult
    {
        var all = new List<TItem>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? cursor = null;
        for (var page = 0; page < MaxPages; page++)
        {
            TResult result;
            try
            {
                result = await _client.SendRequestAsync<TParams, TResult>(method, new TParams { Cursor = cursor }, McpJsonUtilities.DefaultOptions, cancellationToken: cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (McpProtocolException ex) when (ex.ErrorCode == McpErrorCode.MethodNotFound)
            {
                // Advertised but not implemented: treat as an empty list rather than failing the backend.
                return all;
            }

            all.AddRange(items(result));
            cursor = result.NextCursor;
            if (cursor is null || !seen.Add(cursor))
            {
                break;
            }
        }

        return all;
    }

    private async ValueTask RefreshAsync(ListKinds kinds)
    {
        if (Volatile.Read(ref _disposed) == 1)
        {
            return;
        }

        await _refreshGate.WaitAsync().ConfigureAwait(false);
        try
        {
            _lists = await FetchListsAsync(kinds, _lists, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogRefreshFailed(_logger, _name, ex.Message);
            return;
        }
        finally
        {
            _refreshGate.Release();
        }

        ListsChanged?.Invoke(this, kinds);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Backend}: could not read its lists after a change: {Reason}")]
    private static partial void LogRefreshFailed(ILogger logger, string backend, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Backend}: cancelled request {Id}: {Reason}")]
    private static partial void LogCancelSent(ILogger logger, string backend, string id, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Backend}: sending a cancellation failed: {Reason}")]
    private static partial void LogCancelFailed(ILogger logger, string backend, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Backend}: closing the session failed: {Reason}")]
    private static partial void LogDisposeFailed(ILogger logger, string backend, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Backend}: a backend request to clients failed: {Reason}")]
    private static partial void LogBridgeFailed(ILogger logger, string backend, string reason);

    /// <summary>Where a backend's progress for one call goes: the calling client, under the token it chose.</summary>
    private sealed class ProgressRoute(McpServer client, ProgressToken clientToken, CancellationTokenSource timeout, TimeSpan timeoutSpan, long deadline, TimeProvider time)
    {
        private readonly Lock _order = new();
        private Task _last = Task.CompletedTask;
        private int _forwarded;

        /// <summary>Waits until the progress forwarded so far has been sent to the client (bounded).</summary>
        public async Task SettleAsync()
        {
            if (Volatile.Read(ref _forwarded) == 0)
            {
                return;
            }

            Task last;
            lock (_order)
            {
                last = _last;
            }

            try
            {
                await last.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // A client that is gone or slow must not hold up the result.
            }
        }

        public void Forward(ProgressNotificationValue value)
        {
            // Progress resets the call's timeout, but never past the hard maximum.
            var left = TimeSpan.FromSeconds((double)(deadline - time.GetTimestamp()) / time.TimestampFrequency);
            try
            {
                timeout.CancelAfter(left < timeoutSpan ? (left > TimeSpan.Zero ? left : TimeSpan.Zero) : timeoutSpan);
            }
            catch (ObjectDisposedException)
            {
                return;
            }

            Interlocked.Increment(ref _forwarded);
            lock (_order)
            {
                _last = _last.ContinueWith(
                    _ => client.NotifyProgressAsync(clientToken, value),
                    CancellationToken.None,
                    TaskContinuationOptions.None,
                    TaskScheduler.Default).Unwrap();
            }
        }
    }

    /// <summary>
    /// The client handlers are fixed before the session exists; this object lets them reach it once it does.
    /// </summary>
    private sealed class SessionCallbacks
    {
        public BackendSession? Session { get; set; }

        public ValueTask OnListChanged(ListKinds kinds) => Session?.RefreshAsync(kinds) ?? default;

        /// <summary>Sees each message from the backend in wire order (on the transport's read loop: keep it quick).</summary>
        public void Observe(JsonRpcMessage message)
        {
            if (Session is not { } s || message is not JsonRpcNotification { Params: { } p } notification)
            {
                return;
            }

            if (notification.Method == NotificationMethods.ProgressNotification)
            {
                if (p.Deserialize(McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(ProgressNotificationParams))) is ProgressNotificationParams pn
                    && pn.ProgressToken.ToString() is { } token && s._progress.TryGetValue(token, out var route))
                {
                    route.Forward(pn.Progress);
                }
            }
            else if (notification.Method == NotificationMethods.LoggingMessageNotification
                && p.Deserialize(McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(LoggingMessageNotificationParams))) is LoggingMessageNotificationParams log)
            {
                var callers = s.CallersInFlight.ToArray();
                lock (s._logOrder)
                {
                    s._logChain = s._logChain.ContinueWith(
                        _ => s._bridge.ForwardLogAsync(s._name, log, callers).AsTask(),
                        CancellationToken.None,
                        TaskContinuationOptions.None,
                        TaskScheduler.Default).Unwrap();
                }
            }
        }

        public ValueTask OnResourceUpdated(JsonRpcNotification notification)
        {
            if (Session is { } s && notification.Params is { } p
                && p.Deserialize(McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(ResourceUpdatedNotificationParams))) is ResourceUpdatedNotificationParams updated)
            {
                return s._bridge.ForwardResourceUpdatedAsync(s._name, updated.Uri);
            }

            return default;
        }

        public async ValueTask<CreateMessageResult> SampleAsync(CreateMessageRequestParams? request, CancellationToken cancellationToken)
        {
            var client = ResolveOrThrow("sampling", c => c.ClientCapabilities?.Sampling is not null);
            try
            {
                return await client.SampleAsync(request!, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidOperationException ex)
            {
                throw CannotReach("sampling", ex);
            }
        }

        public async ValueTask<ElicitResult> ElicitAsync(ElicitRequestParams? request, CancellationToken cancellationToken)
        {
            var client = ResolveOrThrow("elicitation", c => c.ClientCapabilities?.Elicitation is not null);
            try
            {
                return await client.ElicitAsync(request!, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidOperationException ex)
            {
                throw CannotReach("elicitation", ex);
            }
        }

        public async ValueTask<ListRootsResult> ListRootsAsync(ListRootsRequestParams? request, CancellationToken cancellationToken)
        {
            // Backends often ask for roots right after connecting, before any client exists: answer "none" then.
            var s = Session;
            var client = s is null ? null : s._bridge.ResolveClient(s.CallersInFlight);
            if (client?.ClientCapabilities?.Roots is null)
            {
                return new ListRootsResult { Roots = [] };
            }

            try
            {
                return await client.RequestRootsAsync(request ?? new ListRootsRequestParams(), cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidOperationException ex)
            {
                throw CannotReach("roots", ex);
            }
        }

        /// <summary>
        /// The SDK refuses to send a request to a client it cannot reach (a stateless HTTP request of the
        /// 2026-07-28 era has no channel for it): the backend gets an error that says so, never a hang.
        /// </summary>
        private McpProtocolException CannotReach(string what, InvalidOperationException ex) => new(
            $"mcp-multiproxy: server '{Session?._name}' asked the client for {what}, but the client's connection cannot carry requests from servers ({ex.Message}). " +
            "Use a client session that supports it (stdio, or HTTP with the initialize handshake).",
            McpErrorCode.InternalError);

        private McpServer ResolveOrThrow(string what, Func<McpServer, bool> supports)
        {
            var s = Session ?? throw new McpProtocolException($"mcp-multiproxy: the backend asked for {what} before its session was ready.", McpErrorCode.InternalError);
            var client = s._bridge.ResolveClient(s.CallersInFlight);
            if (client is null)
            {
                LogBridgeFailed(s._logger, s._name, $"{what} request with no single client to answer it");
                throw new McpProtocolException(
                    $"mcp-multiproxy: server '{s._name}' asked for {what}, but it could not be tied to one client (no call of a single client is in flight). Enable per-client sessions for this server.",
                    McpErrorCode.InternalError);
            }

            if (!supports(client))
            {
                throw new McpProtocolException($"mcp-multiproxy: server '{s._name}' asked for {what}, but the client does not support it.", McpErrorCode.MethodNotFound);
            }

            return client;
        }
    }
}

/// <summary>Per-call settings: who called and how long the backend may take.</summary>
/// <remarks><paramref name="Shutdown"/> is cancelled when a shutdown's grace ran out: the call then ends like a timeout.</remarks>
internal readonly record struct CallOptions(McpServer? Caller, TimeSpan Timeout, TimeSpan MaxTimeout, CancellationToken Shutdown = default);
