namespace McpMultiProxy.Security;

/// <summary>
/// A read-only view of a newline-delimited JSON-RPC stream (stdio) in which no line is longer than a limit.
/// The SDK's stdio transports read whole lines with no bound, so one endless line from a peer would grow
/// memory until the process dies. Here a line that reaches the limit is cut: a newline is put in its place
/// (the SDK then sees one malformed message, which it reports and skips) and everything up to the peer's
/// next newline is dropped. Memory stays bounded by the limit; nothing is buffered here.
/// </summary>
public sealed class LineLengthLimitStream : ReadOnlyWrapperStream
{
    private readonly long _maxLineBytes;
    private readonly Action<long>? _onCut;
    private readonly bool _fail;
    private long _lineBytes;
    private long _dropped;
    private bool _dropping;

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    /// <param name="inner">The peer's output (our input).</param>
    /// <param name="maxLineBytes">Longest line passed on, newline not counted.</param>
    /// <param name="onCut">Called once per cut line with the number of bytes dropped (for a log line).</param>
    /// <param name="fail">
    /// Throw an <see cref="IOException"/> instead of cutting: for a stream that answers one request (an HTTP
    /// response), where failing the request at once beats leaving it to wait for an answer that was dropped.
    /// </param>
    public LineLengthLimitStream(Stream inner, long maxLineBytes, Action<long>? onCut = null, bool fail = false)
        : base(inner)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 1);
        _maxLineBytes = maxLineBytes;
        _onCut = onCut;
        _fail = fail;
    }

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc/>
    public override int Read(Span<byte> buffer)
    {
        while (true)
        {
            var read = Inner.Read(buffer);
            if (read == 0)
            {
                return 0;
            }

            var kept = Filter(buffer[..read]);
            if (kept > 0)
            {
                return kept;
            }
        }
    }

    /// <inheritdoc/>
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var read = await Inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return 0;
            }

            // A chunk that was all dropped must not look like the end of the stream (0): read on.
            var kept = Filter(buffer.Span[..read]);
            if (kept > 0)
            {
                return kept;
            }
        }
    }

    /// <summary>Compacts <paramref name="chunk"/> in place; returns how many bytes are kept.</summary>
    private int Filter(Span<byte> chunk)
    {
        var write = 0;
        var read = 0;
        while (read < chunk.Length)
        {
            var rest = chunk[read..];
            var newline = rest.IndexOf((byte)'\n');
            var segment = newline < 0 ? rest : rest[..newline];
            if (_dropping)
            {
                _dropped += segment.Length;
                if (newline < 0)
                {
                    break;
                }

                // The peer's newline ends the cut line; ours was already passed on.
                _dropping = false;
                _lineBytes = 0;
                _onCut?.Invoke(_dropped);
                read += newline + 1;
                continue;
            }

            var room = _maxLineBytes - _lineBytes;
            if (segment.Length <= room)
            {
                // Nothing dropped yet in this chunk: the segment is already where it belongs.
                if (write != read)
                {
                    segment.CopyTo(chunk[write..]);
                }

                write += segment.Length;
                read += segment.Length;
                if (newline >= 0)
                {
                    chunk[write++] = (byte)'\n';
                    read++;
                    _lineBytes = 0;
                }
                else
                {
                    _lineBytes += segment.Length;
                }

                continue;
            }

            // The line reaches the limit inside this segment: keep up to it, end the line, drop the rest.
            if (_fail)
            {
                throw new IOException($"a message is longer than the limit of {_maxLineBytes} bytes");
            }

            var keep = (int)room;
            segment[..keep].CopyTo(chunk[write..]);
            write += keep;
            chunk[write++] = (byte)'\n';
            read += keep + 1;
            _dropping = true;
            _dropped = 1;
        }

        return write;
    }
}
