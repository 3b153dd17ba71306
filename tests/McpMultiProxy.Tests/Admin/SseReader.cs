using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace McpMultiProxy.Tests.Admin;

/// <summary>Reads a server-sent event stream over HTTP, one event at a time.</summary>
public sealed class SseReader : IDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private SseReader(HttpResponseMessage response, StreamReader reader)
    {
        _response = response;
        _reader = reader;
    }

    /// <summary>Opens the stream at <paramref name="path"/>, resuming after <paramref name="lastEventId"/> when given.</summary>
    public static async Task<SseReader> OpenAsync(HttpClient http, string path, long? lastEventId, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is { } id)
        {
            request.Headers.Add("Last-Event-ID", id.ToString(CultureInfo.InvariantCulture));
        }

        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        if (response.Content.Headers.ContentType?.MediaType != "text/event-stream")
        {
            throw new InvalidOperationException($"not an event stream: {response.Content.Headers.ContentType}");
        }

        return new SseReader(response, new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken)));
    }

    /// <summary>The next event: its type, data and id.</summary>
    public async Task<(string Type, string Data, string? Id)> NextAsync(CancellationToken cancellationToken)
    {
        string type = "message", data = "";
        string? id = null;
        var any = false;
        while (await _reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (any)
                {
                    return (type, data, id);
                }

                continue;
            }

            any = true;
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var (field, value) = colon < 0 ? (line, "") : (line[..colon], line[(colon + 1)..].TrimStart(' '));
            switch (field)
            {
                case "event":
                    type = value;
                    break;
                case "data":
                    data = data.Length == 0 ? value : data + "\n" + value;
                    break;
                case "id":
                    id = value;
                    break;
            }
        }

        throw new EndOfStreamException("the event stream ended");
    }

    /// <summary>Skips events until a proxy event (type <c>event</c>) that matches; returns its data.</summary>
    public async Task<JsonNode> NextEventAsync(Func<JsonNode, bool> match, CancellationToken cancellationToken)
    {
        while (true)
        {
            var (type, data, id) = await NextAsync(cancellationToken);
            if (type == "event" && JsonNode.Parse(data) is { } e && match(e))
            {
                if (id != e["id"]!.ToJsonString())
                {
                    throw new InvalidOperationException($"the SSE id {id} differs from the event's id {e["id"]}");
                }

                return e;
            }
        }
    }

    public void Dispose()
    {
        _reader.Dispose();
        _response.Dispose();
    }
}
