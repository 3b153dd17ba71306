using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Xunit;

namespace McpMultiProxy.Tests.Security;

/// <summary>Hand-made HTTP requests to the proxy, for what an SDK client would never send (foreign Host, bad bodies).</summary>
internal static class RawHttp
{
    /// <summary>A valid first request of a session.</summary>
    public const string Initialize =
        """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}""";

    private static readonly HttpClient Client = new(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromSeconds(10) })
    {
        Timeout = TimeSpan.FromSeconds(30),
    };

    /// <summary>POSTs <paramref name="body"/> to <paramref name="url"/> with the MCP Accept header and the given extra headers.</summary>
    public static Task<HttpResponseMessage> PostAsync(Uri url, byte[] body, IEnumerable<(string Name, string Value)>? headers = null, bool chunked = false)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = chunked ? new StreamContent(new NoLengthStream(body)) : new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        // A server may refuse a big body before reading it and close the connection while it is still being sent;
        // with 'Expect: 100-continue' the refusal arrives first, as it would for a careful client.
        request.Headers.ExpectContinue = body.Length > 1024 * 1024 && !chunked;
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Accept.ParseAdd("text/event-stream");
        foreach (var (name, value) in headers ?? [])
        {
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                request.Headers.Host = value;
            }
            else
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return Client.SendAsync(request);
    }

    public static Task<HttpResponseMessage> PostAsync(Uri url, string body, IEnumerable<(string Name, string Value)>? headers = null) =>
        PostAsync(url, Encoding.UTF8.GetBytes(body), headers);

    public static Task<HttpResponseMessage> SendAsync(HttpRequestMessage request) => Client.SendAsync(request);

    /// <summary>The JSON-RPC error of a refusal body: its code and message.</summary>
    public static async Task<(int Code, string Message)> ErrorAsync(HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = document.RootElement.GetProperty("error");
        Assert.Equal(JsonValueKind.Null, document.RootElement.GetProperty("id").ValueKind);
        return (error.GetProperty("code").GetInt32(), error.GetProperty("message").GetString()!);
    }

    /// <summary>Asserts that no CORS header allows everyone.</summary>
    public static void AssertNoWildcardCors(HttpResponseMessage response)
    {
        foreach (var header in response.Headers.Where(h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase)))
        {
            Assert.DoesNotContain("*", header.Value);
        }
    }

    /// <summary>True when the response is a success; used to tell "served" from "refused" with the status in the message.</summary>
    public static bool Served(HttpResponseMessage response) => response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Accepted;

    /// <summary>A body stream whose length is unknown, so that HttpClient sends it chunked.</summary>
    private sealed class NoLengthStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
