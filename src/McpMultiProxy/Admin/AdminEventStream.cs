using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using McpMultiProxy.Telemetry;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;

namespace McpMultiProxy.Admin;

/// <summary>
/// <c>GET /api/events/stream</c>: the <see cref="EventLog"/> live, as server-sent events. Each event carries its id,
/// so a client that reconnects with <c>Last-Event-ID</c> (or <c>?after=ID</c>) first gets what it missed. A
/// <c>ping</c> event every 15 s keeps idle connections (and the proxies between) from timing out. The stream
/// ends when the client leaves or the proxy stops.
/// </summary>
internal static class AdminEventStream
{
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);

    public static IResult Stream(HttpContext context, EventLog events, IHostApplicationLifetime lifetime)
    {
        var after = context.Request.Headers["Last-Event-ID"].FirstOrDefault() ?? context.Request.Query["after"].FirstOrDefault();
        long? afterId = null;
        if (after is { Length: > 0 })
        {
            if (!long.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                return AdminApi.Error(StatusCodes.Status400BadRequest, $"'Last-Event-ID' (or 'after') must be an event id (a whole number); got '{after}'.");
            }

            afterId = id;
        }

        return TypedResults.ServerSentEvents(ReadAsync(events.Subscribe(afterId), context.RequestAborted, lifetime.ApplicationStopping));
    }

    private static async IAsyncEnumerable<SseItem<string>> ReadAsync(EventSubscription subscription, CancellationToken aborted, CancellationToken stopping, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var _ = subscription;
        using var end = CancellationTokenSource.CreateLinkedTokenSource(aborted, stopping, cancellationToken);
        var reader = subscription.Reader;
        yield return new SseItem<string>("{}", "hello") { ReconnectionInterval = TimeSpan.FromSeconds(2) };
        while (!end.IsCancellationRequested)
        {
            var ready = false;
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(end.Token))
            {
                wait.CancelAfter(Heartbeat);
                try
                {
                    ready = await reader.WaitToReadAsync(wait.Token).ConfigureAwait(false);
                    if (!ready)
                    {
                        yield break;
                    }
                }
                catch (OperationCanceledException) when (!end.IsCancellationRequested)
                {
                }
                catch (OperationCanceledException)
                {
                    yield break;
                }
            }

            if (!ready)
            {
                yield return new SseItem<string>("{}", "ping");
                continue;
            }

            while (reader.TryRead(out var e))
            {
                yield return new SseItem<string>(AdminApi.EventJson(e).ToJsonString(AdminApi.Output), "event") { EventId = e.Id.ToString(CultureInfo.InvariantCulture) };
            }
        }
    }
}
