using System.Collections.Concurrent;
using McpMultiProxy.Configuration;
using ModelContextProtocol.Server;

namespace McpMultiProxy.Backends;

/// <summary>
/// A backend session for each client, for stateful backends: created on the client's first request, closed
/// when the client's session ends or after it has been idle for <see cref="IdleTimeout"/>. A request with no
/// client session (a stateless HTTP request) gets a session of its own, closed when it is answered.
/// </summary>
internal sealed class PerClientSessions : IAsyncDisposable
{
    private readonly BackendServices _services;
    private readonly Func<BackendConfig> _config;
    private readonly ConcurrentDictionary<McpServer, Entry> _sessions = new();
    private int _disposed;

    public PerClientSessions(BackendServices services, Func<BackendConfig> config)
    {
        _services = services;
        _config = config;
        _services.Bridge.ClientLeft += OnClientLeft;
    }

    /// <summary>How long a client's session may stay unused.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(10);

    /// <summary>Sessions open now.</summary>
    public int Count => _sessions.Count;

    /// <summary>Runs <paramref name="send"/> on the caller's own session.</summary>
    public async Task<TResult> SendAsync<TResult>(McpServer caller, int replica, Func<BackendSession, Task<TResult>> send, CancellationToken cancellationToken)
    {
        var client = _services.Bridge.SessionOf(caller);
        if (client is null)
        {
            var once = await ConnectAsync(replica, cancellationToken).ConfigureAwait(false);
            await using (once.ConfigureAwait(false))
            {
                return await send(once).ConfigureAwait(false);
            }
        }

        var entry = _sessions.GetOrAdd(client, c => new Entry(this, c, replica));
        BackendSession session;
        try
        {
            session = await entry.Session.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await CloseAsync(client, entry).ConfigureAwait(false);
            throw new BackendUnavailableException(_config().Name, $"could not open a session for this client: {ex.Message}", ex) { NotSent = true };
        }

        if (session.Completion.IsCompleted)
        {
            await CloseAsync(client, entry).ConfigureAwait(false);
            throw new BackendUnavailableException(_config().Name, "this client's session to it has ended; the next call opens a new one") { NotSent = true };
        }

        entry.Touch();
        try
        {
            return await send(session).ConfigureAwait(false);
        }
        finally
        {
            entry.Touch();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _services.Bridge.ClientLeft -= OnClientLeft;
        foreach (var (client, entry) in _sessions)
        {
            await CloseAsync(client, entry).ConfigureAwait(false);
        }
    }

    private Task<BackendSession> ConnectAsync(int replica, CancellationToken cancellationToken) =>
        BackendSession.ConnectAsync(_config(), replica, _services, cancellationToken);

    private void OnClientLeft(McpServer client)
    {
        if (_sessions.TryGetValue(client, out var entry))
        {
            _ = CloseAsync(client, entry);
        }
    }

    private async Task CloseAsync(McpServer client, Entry entry)
    {
        if (!_sessions.TryRemove(new KeyValuePair<McpServer, Entry>(client, entry)))
        {
            return;
        }

        await entry.DisposeAsync().ConfigureAwait(false);
    }

    private sealed class Entry : IAsyncDisposable
    {
        private readonly PerClientSessions _owner;
        private readonly McpServer _client;
        private readonly ITimer _idle;

        public Entry(PerClientSessions owner, McpServer client, int replica)
        {
            _owner = owner;
            _client = client;
            Session = owner.ConnectAsync(replica, CancellationToken.None);
            _idle = owner._services.TimeProvider.CreateTimer(_ => _ = owner.CloseAsync(_client, this), null, IdleTimeout, Timeout.InfiniteTimeSpan);
        }

        public Task<BackendSession> Session { get; }

        public void Touch() => _idle.Change(IdleTimeout, Timeout.InfiniteTimeSpan);

        public async ValueTask DisposeAsync()
        {
            await _idle.DisposeAsync().ConfigureAwait(false);
            try
            {
                await (await Session.ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception)
            {
                // It never opened: nothing to close.
            }
        }
    }
}
