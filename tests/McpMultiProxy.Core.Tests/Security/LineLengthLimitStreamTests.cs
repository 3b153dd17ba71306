using System.Text;
using McpMultiProxy.Security;

namespace McpMultiProxy.Tests.Security;

public sealed class LineLengthLimitStreamTests
{
    private static async Task<(List<string> Lines, List<long> Cuts)> ReadAllAsync(byte[] input, long limit, int chunk)
    {
        var cuts = new List<long>();
        using var stream = new LineLengthLimitStream(new ChunkedStream(input, chunk), limit, cuts.Add);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var lines = new List<string>();
        while (await reader.ReadLineAsync() is { } line)
        {
            lines.Add(line);
        }

        return (lines, cuts);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(4096)]
    public async Task Read_LongLineBetweenShortOnes_IsCutAndRestDropped(int chunk)
    {
        var input = Encoding.UTF8.GetBytes("short\n" + new string('x', 100) + "\nafter\n");

        var (lines, cuts) = await ReadAllAsync(input, limit: 10, chunk);

        Assert.Equal(["short", "xxxxxxxxxx", "after"], lines);
        Assert.Equal([90L], cuts);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(64)]
    public async Task Read_LinesWithinLimit_PassUnchanged(int chunk)
    {
        var text = "a\n\nexactly-10\n{\"jsonrpc\":\"2.0\"}\n";
        var (lines, cuts) = await ReadAllAsync(Encoding.UTF8.GetBytes(text), limit: 32, chunk);

        Assert.Equal(["a", "", "exactly-10", "{\"jsonrpc\":\"2.0\"}"], lines);
        Assert.Empty(cuts);
    }

    [Fact]
    public async Task Read_EndlessLine_MemoryStaysBoundedAndEndIsSeen()
    {
        // 64 MiB without a newline: the reader sees one line of 1 KiB, then the end of the stream.
        var (lines, _) = await ReadAllAsync(new byte[64 * 1024 * 1024], limit: 1024, chunk: 1 << 16);

        Assert.Equal(1024, Assert.Single(lines).Length);
    }

    [Fact]
    public async Task Read_FailMode_LongLineThrowsInsteadOfCutting()
    {
        using var stream = new LineLengthLimitStream(new MemoryStream(Encoding.UTF8.GetBytes("ok\n" + new string('x', 100))), 10, fail: true);
        using var reader = new StreamReader(stream);

        await Assert.ThrowsAsync<IOException>(() => reader.ReadToEndAsync());
    }

    /// <summary>Returns at most <c>chunk</c> bytes per read, like a pipe does.</summary>
    private sealed class ChunkedStream(byte[] data, int chunk) : MemoryStream(data)
    {
        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(chunk, buffer.Length)]);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(chunk, buffer.Length)], cancellationToken);
    }
}
