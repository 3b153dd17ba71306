
namespace McpMultiProxy.Security;

/// <summary>
/// Bounds what an HTTP backend can make the proxy hold in memory: the SDK reads a JSON response whole and an
/// SSE event line by line, with no limit of its own. A response, or an SSE line, beyond the limit fails the
/// read, so the call it answers gets an error at once (and a listening stream is reopened by the SDK).
/// </summary>
public sealed class ResponseSizeLimitHandler(HttpMessageHandler inner, long maxMessageBytes) : DelegatingHandler(inner)
{
    /// <inheritdoc/>
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var content = response.Content;
        if (content.Headers.ContentLength > maxMessageBytes)
        {
            response.Dispose();
            throw new HttpRequestException($"the server's response is {content.Headers.ContentLength} bytes, more than proxy.maxBackendMessageBytes ({maxMessageBytes})");
        }

        var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        Stream limited = content.Headers.ContentType?.MediaType == "text/event-stream"
            ? new LineLengthLimitStream(stream, maxMessageBytes, fail: true)
            : new TotalLengthLimitStream(stream, maxMessageBytes);
        var replacement = new StreamContent(limited);
        foreach (var header in content.Headers)
        {
            replacement.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        response.Content = replacement;
        return response;
    }

    /// <summary>Fails a read that would go past the limit.</summary>
    private sealed class TotalLengthLimitStream(Stream inner, long limit) : ReadOnlyWrapperStream(inner)
    {
        private long _read;

        public override int Read(byte[] buffer, int offset, int count) => Count(Inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await Inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

        private int Count(int read)
        {
            _read += read;
            return _read > limit ? throw new IOException($"the server's response is larger than proxy.maxBackendMessageBytes ({limit} bytes)") : read;
        }
    }
}
