using System.Threading.Channels;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace McpMultiProxy.Backends;

/// <summary>
/// Wraps a backend's client transport to see every incoming message in wire order, before the SDK does.
/// The SDK dispatches notifications and responses concurrently, so a progress or log notification a backend
/// sent just before its result could otherwise reach our handler after the result (and be lost for the
/// client). Seen here, in order, it is queued for the client before the result is even handed to the SDK.
/// Completion (and its exit-code details) passes through unchanged.
/// </summary>
internal sealed class ObservedClientTransport(IClientTransport inner, Action<JsonRpcMessage> observe) : IClientTransport
{
    public string Name => inner.Name;

    public async Task<ITransport> ConnectAsync(CancellationToken cancellationToken = default) =>
        new ObservedTransport(await inner.ConnectAsync(cancellationToken).ConfigureAwait(false), observe);

    private sealed class ObservedTransport : ITransport
    {
        private readonly ITransport _inner;
        private readonly Action<JsonRpcMessage> _observe;
        private readonly Channel<JsonRpcMessage> _channel = Channel.CreateUnbounded<JsonRpcMessage>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        private readonly Task _pump;

        public ObservedTransport(ITransport inner, Action<JsonRpcMessage> observe)
        {
            _inner = inner;
            _observe = observe;
            _pump = Task.Run(PumpAsync);
        }

        public string? SessionId => _inner.SessionId;

        public ChannelReader<JsonRpcMessage> MessageReader => _channel.Reader;

        public Task SendMessageAsync(JsonRpcMessage message, CancellationToken cancellationToken = default) =>
            _inner.SendMessageAsync(message, cancellationToken);

        public async ValueTask DisposeAsync()
        {
            await _inner.DisposeAsync().ConfigureAwait(false);
            await _pump.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        private async Task PumpAsync()
        {
            try
            {
                await foreach (var message in _inner.MessageReader.ReadAllAsync().ConfigureAwait(false))
                {
                    try
                    {
                        _observe(message);
                    }
                    catch (Exception)
                    {
                        // An observer failure must never stop the session.
                    }

                    _channel.Writer.TryWrite(message);
                }

                await _inner.MessageReader.Completion.ConfigureAwait(false);
                _channel.Writer.TryComplete();
            }
            catch (Exception ex)
            {
                _channel.Writer.TryComplete(ex);
            }
        }
    }
}
