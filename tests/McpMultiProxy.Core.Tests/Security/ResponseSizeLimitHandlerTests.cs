using System.Net;
using System.Text;
using McpMultiProxy.Security;

namespace McpMultiProxy.Tests.Security;

public sealed class ResponseSizeLimitHandlerTests
{
    private static HttpClient Client(HttpContent content, long limit) =>
        new(new ResponseSizeLimitHandler(new Fixed(content), limit));

    public static TheoryData<string, HttpContent, bool> Responses => new()
    {
        { "small JSON", Json(100), false },
        { "JSON with Content-Length over the limit", Json(2000), true },
        { "JSON of unknown length over the limit", new StreamContent(new NoLength(new string('x', 2000))), true },
        { "SSE with short events", Sse("data: {\"a\":1}\n\ndata: {\"b\":2}\n\n"), false },
        { "SSE with one huge event", Sse("data: {\"a\":1}\n\ndata: " + new string('x', 2000) + "\n\n"), true },
    };

    [Theory]
    [MemberData(nameof(Responses))]
    public async Task Read_ResponseOverLimit_FailsAndOthersPass(string what, HttpContent content, bool fails)
    {
        using var client = Client(content, limit: 1024);

        var read = async () =>
        {
            using var response = await client.GetAsync(new Uri("http://127.0.0.1:1/"));
            return await response.Content.ReadAsStringAsync();
        };

        if (fails)
        {
            var error = await Record.ExceptionAsync(read);
            Assert.True(error is HttpRequestException or IOException, $"{what}: {error}");
        }
        else
        {
            Assert.NotEmpty(await read());
        }
    }

    private static ByteArrayContent Json(int length)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(new string('x', length)));
        content.Headers.ContentType = new("application/json");
        return content;
    }

    private static StreamContent Sse(string text)
    {
        var content = new StreamContent(new NoLength(text));
        content.Headers.ContentType = new("text/event-stream");
        return content;
    }

    private sealed class NoLength(string text) : MemoryStream(Encoding.UTF8.GetBytes(text))
    {
        public override bool CanSeek => false;
    }

    private sealed class Fixed(HttpContent content) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = content, RequestMessage = request });
    }
}
