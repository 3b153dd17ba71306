using System.Threading.Channels;

namespace McpMultiProxy.Telemetry;

/// <summary>What happened.</summary>
public enum ProxyEventKind
{
    /// <summary>A backend was added.</summary>
    Added,

    /// <summary>A backend was removed.</summary>
    Removed,

    /// <summary>A backend was enabled.</summary>
    Enabled,

    /// <summary>A backend was disabled.</summary>
    Disabled,

    /// <summary>A backend's health state changed.</summary>
    State,

    /// <summary>A backend's tools, prompts or resources changed.</summary>
    Lists,

    /// <summary>A backend failed to connect, or dropped its connection.</summary>
    ConnectionError,

    /// <summary>A forwarded call failed (error, timeout, unavailable) or a tool answered with an error result.</summary>
    CallError,
}

/// <summary>One entry of the <see cref="EventLog"/>. Messages never carry secrets: targets are redacted before they get here.</summary>
/// <param name="Id">Increasing number, usable as an SSE event id (<c>Last-Event-ID</c>).</param>
/// <param name="At">When it happened.</param>
/// <param name="Kind">What happened.</param>
/// <param name="Backend">The backend concerned, if any.</param>
/// <param name="Message">A sentence for a person.</param>
/// <param name="State">For state changes: the new state.</param>
public sealed record ProxyEvent(long Id, DateTimeOffset At, ProxyEventKind Kind, string? Backend, string Message, string? State = null)
{
    /// <summary>True for the kinds shown as errors.</summary>
    public bool IsError => Kind is ProxyEventKind.ConnectionError or ProxyEventKind.CallError;
}

/// <summary>
/// A bounded ring of the latest state changes and errors, with live subscriptions (the admin API's event
/// stream). Appending is cheap and never blocks on a slow subscriber: a subscriber that falls behind loses
/// its oldest unread events, never the proxy's time.
/// </summary>
/// <param name="time">The clock.</param>
/// <param name="secrets">Known secret values, scrubbed from every message (error texts come from exceptions); null scrubs nothing.</param>
public sealed class EventLog(TimeProvider time, Security.SecretValues? secrets = null)
{
    /// <summary>How many events are kept.</summary>
    public const int Capacity = 500;

    private const int SubscriberBuffer = 256;
    private readonly ProxyEvent?[] _ring = new ProxyEvent?[Capacity];
    private readonly Lock _lock = new();
    private readonly List<Channel<ProxyEvent>> _subscribers = [];
    private long _nextId = 1;

    /// <summary>Records an event and hands it to every subscriber.</summary>
    public ProxyEvent Append(ProxyEventKind kind, string? backend, string message, string? state = null)
    {
        lock (_lock)
        {
            var e = new ProxyEvent(_nextId, time.GetUtcNow(), kind, backend, secrets?.Scrub(message) ?? message, state);
            _ring[_nextId % Capacity] = e;
            _nextId++;
            foreach (var subscriber in _subscribers)
            {
                subscriber.Writer.TryWrite(e);
            }

            return e;
        }
    }

    /// <summary>The kept events with an id above <paramref name="afterId"/> that match, oldest first, at most <paramref name="limit"/> (the newest ones).</summary>
    public IReadOnlyList<ProxyEvent> Recent(long afterId = 0, int limit = Capacity, Func<ProxyEvent, bool>? filter = null)
    {
        var found = new List<ProxyEvent>();
        lock (_lock)
        {
            for (var id = Math.Max(afterId + 1, _nextId - Capacity); id < _nextId; id++)
            {
                if (_ring[id % Capacity] is { } e && (filter is null || filter(e)))
                {
                    found.Add(e);
                }
            }
        }

        return found.Count > limit ? found[^limit..] : found;
    }

    /// <summary>
    /// Starts a live subscription. Events after <paramref name="afterId"/> still in the ring are delivered first
    /// (an SSE client reconnecting with <c>Last-Event-ID</c> misses nothing that is kept); dispose to stop.
    /// </summary>
    public EventSubscription Subscribe(long? afterId = null)
    {
        var channel = Channel.CreateBounded<ProxyEvent>(new BoundedChannelOptions(SubscriberBuffer)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        lock (_lock)
        {
            if (afterId is { } after)
            {
                foreach (var e in Recent(after, SubscriberBuffer))
                {
                    channel.Writer.TryWrite(e);
                }
            }

            _subscribers.Add(channel);
        }

        return new EventSubscription(channel.Reader, () =>
        {
            lock (_lock)
            {
                _subscribers.Remove(channel);
            }

            channel.Writer.TryComplete();
        });
    }
}

/// <summary>A live feed of <see cref="ProxyEvent"/>s; dispose to stop it.</summary>
public sealed class EventSubscription(ChannelReader<ProxyEvent> reader, Action stop) : IDisposable
{
    private int _stopped;

    /// <summary>The events, as they happen.</summary>
    public ChannelReader<ProxyEvent> Reader { get; } = reader;

    /// <inheritdoc/>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            stop();
        }
    }
}
