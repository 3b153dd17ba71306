using System.Net;
using System.Text;
using McpMultiProxy.Tests.Infrastructure;
using ModelContextProtocol.Client;
using Xunit;
using static McpMultiProxy.Tests.Infrastructure.McpTestClient;

namespace McpMultiProxy.Tests.Security;

/// <summary>Two proxies for the front door tests: one open on loopback, one that requires a token (created by the proxy).</summary>
public sealed class FrontDoorFixture : IAsyncLifetime
{
    private readonly TempDirectory _temp = new();

    public ProxyProcess Open { get; private set; } = null!;

    public ProxyProcess Guarded { get; private set; } = null!;

    public string TokenFile => _temp.Combine("secrets/token");

    public string Token => File.ReadAllText(TokenFile).Trim();

    public async Task InitializeAsync()
    {
        Open = await ProxyProcess.StartHttpAsync([]);
        Guarded = await ProxyProcess.StartHttpAsync(["--token-file", TokenFile, "--allowed-origins", "https://app.example.org"]);
    }

    public async Task DisposeAsync()
    {
        await Open.DisposeAsync();
        await Guarded.DisposeAsync();
        _temp.Dispose();
    }
}

/// <summary>Item 1: the HTTP front door (Host, Origin, CORS, token, body size, JSON depth and batches).</summary>
public sealed class FrontDoorTests(FrontDoorFixture fixture) : IClassFixture<FrontDoorFixture>
{
    private (string, string) Bearer => ("Authorization", $"Bearer {fixture.Token}");

    [Theory]
    [InlineData("http://evil.example")]
    [InlineData("null")]
    [InlineData("http://localhost.evil.example")]
    [InlineData("http://127.0.0.1.evil.example")]
    [InlineData("http://localhost@evil.example")]
    [InlineData("https://evil.example:8765")]
    [InlineData("http://[::1].evil.example")]
    [InlineData("file://")]
    public async Task Post_DisallowedOrigin_Returns403WithoutCors(string origin)
    {
        using var response = await RawHttp.PostAsync(fixture.Open.Url!, RawHttp.Initialize, [("Origin", origin)]);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("origin", (await RawHttp.ErrorAsync(response)).Message, StringComparison.Ordinal);
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("http://localhost:6274")]
    [InlineData("http://127.0.0.1:9")]
    [InlineData("https://[::1]:8443")]
    public async Task Post_LoopbackOrNoOrigin_IsServedAndCorsEchoesTheOriginOnly(string? origin)
    {
        using var response = await RawHttp.PostAsync(fixture.Open.Url!, RawHttp.Initialize, origin is null ? [] : [("Origin", origin)]);

        Assert.True(RawHttp.Served(response), $"status {response.StatusCode}");
        RawHttp.AssertNoWildcardCors(response);
        Assert.Equal(origin, response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) ? Assert.Single(values) : null);
    }

    [Theory]
    [InlineData("evil.example")]
    [InlineData("localhost.evil.example")]
    [InlineData("127.0.0.1.evil.example:8765")]
    [InlineData("evil.example:80")]
    public async Task Post_ForeignHostHeader_Returns403(string host)
    {
        using var response = await RawHttp.PostAsync(fixture.Open.Url!, RawHttp.Initialize, [("Host", host), ("Origin", $"http://{host}")]);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("Host", (await RawHttp.ErrorAsync(response)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://localhost:6274", HttpStatusCode.NoContent)]
    [InlineData("https://app.example.org", HttpStatusCode.NoContent)]
    [InlineData("http://evil.example", HttpStatusCode.Forbidden)]
    [InlineData("https://app.example.org.evil.example", HttpStatusCode.Forbidden)]
    public async Task Preflight_Origin_AnsweredOnlyForAllowedOriginsEvenWithoutToken(string origin, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, fixture.Guarded.Url);
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "content-type, authorization, mcp-session-id");

        using var response = await RawHttp.SendAsync(request);

        Assert.Equal(expected, response.StatusCode);
        RawHttp.AssertNoWildcardCors(response);
        if (expected == HttpStatusCode.NoContent)
        {
            Assert.Equal(origin, Assert.Single(response.Headers.GetValues("Access-Control-Allow-Origin")));
            Assert.Contains("authorization", Assert.Single(response.Headers.GetValues("Access-Control-Allow-Headers")), StringComparison.Ordinal);
        }
        else
        {
            Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
        }
    }

    public static TheoryData<string?> WrongAuthorizations => new()
    {
        null,
        "Bearer wrong-token-0123456789abcdef",
        "Basic dXNlcjpwYXNzd29yZA==",
        "Bearer ",
        "Bearer",
        "TOKEN",
        "Bearer TOKENx",
        "Bearer TOKEN-SHORT",
        "Token TOKEN",
    };

    [Theory]
    [MemberData(nameof(WrongAuthorizations))]
    public async Task Post_MissingOrWrongToken_Returns401(string? authorization)
    {
        var token = fixture.Token;
        var value = authorization?.Replace("TOKEN-SHORT", token[..^1], StringComparison.Ordinal).Replace("TOKEN", token, StringComparison.Ordinal);

        using var response = await RawHttp.PostAsync(fixture.Guarded.Url!, RawHttp.Initialize, value is null ? [] : [("Authorization", value)]);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
        Assert.DoesNotContain(token, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Bearer TOKEN")]
    [InlineData("bearer TOKEN")]
    [InlineData("Bearer  TOKEN ")]
    public async Task Post_RightToken_IsServed(string authorization)
    {
        using var response = await RawHttp.PostAsync(fixture.Guarded.Url!, RawHttp.Initialize, [("Authorization", authorization.Replace("TOKEN", fixture.Token, StringComparison.Ordinal))]);

        Assert.True(RawHttp.Served(response), $"status {response.StatusCode}");
    }

    [Fact]
    public async Task SdkClient_WithToken_CallsTheProxyTools()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        await using var client = await McpClient.CreateAsync(
            new HttpClientTransport(new HttpClientTransportOptions
            {
                Endpoint = fixture.Guarded.Url!,
                TransportMode = HttpTransportMode.StreamableHttp,
                AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = $"Bearer {fixture.Token}" },
            }),
            NewOptions(),
            cancellationToken: cts.Token);

        var health = await client.CallToolAsync("proxy_health", cancellationToken: cts.Token);

        Assert.Contains("servers healthy", Text(health), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/", false, HttpStatusCode.OK)]
    [InlineData("/console/console.js", false, HttpStatusCode.OK)]
    [InlineData("/console/../api/status", false, HttpStatusCode.Unauthorized)]
    [InlineData("/api/status", false, HttpStatusCode.Unauthorized)]
    [InlineData("/api/status", true, HttpStatusCode.OK)]
    [InlineData("/metrics", false, HttpStatusCode.Unauthorized)]
    [InlineData("/metrics", true, HttpStatusCode.OK)]
    [InlineData("/mcp", false, HttpStatusCode.Unauthorized)]
    public async Task Get_WithTokenRequired_OnlyTheConsolesStaticFilesLoadWithoutIt(string path, bool withToken, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.Guarded.Url!, path));
        if (withToken)
        {
            request.Headers.Add("Authorization", $"Bearer {fixture.Token}");
        }

        using var response = await RawHttp.SendAsync(request);

        Assert.Equal(expected, response.StatusCode);
    }

    [Theory]
    [InlineData("/api/status")]
    [InlineData("/")]
    [InlineData("/metrics")]
    public async Task Get_ForeignOriginOrHost_IsRefusedOnTheWholeListener(string path)
    {
        using var origin = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.Open.Url!, path));
        origin.Headers.Add("Origin", "http://evil.example");
        using var host = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.Open.Url!, path));
        host.Headers.Host = "evil.example";

        using var byOrigin = await RawHttp.SendAsync(origin);
        using var byHost = await RawHttp.SendAsync(host);

        Assert.Equal(HttpStatusCode.Forbidden, byOrigin.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, byHost.StatusCode);
    }

    [Fact]
    public void TokenFile_Missing_IsCreatedWithMode0600AndNeverPrinted()
    {
        Assert.True(File.Exists(fixture.TokenFile));
        Assert.True(fixture.Token.Length >= 40);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(fixture.TokenFile));
        }

        Assert.Contains(fixture.Guarded.StderrLines, l => l.Contains(fixture.TokenFile, StringComparison.Ordinal));
        Assert.DoesNotContain(fixture.Guarded.StderrLines, l => l.Contains(fixture.Token, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Post_OversizedBody_Returns413(bool chunked)
    {
        var body = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"x\",\"arguments\":{\"a\":\"" + new string('x', 5 * 1024 * 1024) + "\"}}}");

        using var response = await RawHttp.PostAsync(fixture.Guarded.Url!, body, [Bearer], chunked);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("maxMessageBytes", (await RawHttp.ErrorAsync(response)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_OversizedBodyWithoutToken_Returns401BeforeReadingIt()
    {
        // With 'Expect: 100-continue' the client sends the body only if the server asks for it: a refusal comes first.
        using var request = new HttpRequestMessage(HttpMethod.Post, fixture.Guarded.Url) { Content = new ByteArrayContent(new byte[5 * 1024 * 1024]) };
        request.Headers.ExpectContinue = true;
        using var response = await RawHttp.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    public static TheoryData<string, byte[], int> MalformedBodies => new()
    {
        { "batch", Encoding.UTF8.GetBytes("[" + RawHttp.Initialize + "," + RawHttp.Initialize + "]"), -32600 },
        { "empty batch", "[]"u8.ToArray(), -32600 },
        { "nested 65 deep", Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":" + string.Concat(Enumerable.Repeat("{\"a\":", 64)) + "1" + new string('}', 64) + "}"), -32600 },
        { "nested 10000 deep", Encoding.UTF8.GetBytes(new string('[', 10000) + new string(']', 10000)), -32600 },
        { "invalid UTF-8", [.. "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\""u8, 0xC3, 0x28, 0xFF, .. "\"}"u8], -32700 },
        { "truncated", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"u8.ToArray(), -32700 },
        { "empty", [], -32700 },
        { "scalar", "42"u8.ToArray(), -32600 },
        { "trailing garbage", Encoding.UTF8.GetBytes(RawHttp.Initialize + "garbage"), -32700 },
        { "comment", "{/* x */\"jsonrpc\":\"2.0\"}"u8.ToArray(), -32700 },
    };

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public async Task Post_MalformedBody_Returns400WithJsonRpcError(string what, byte[] body, int code)
    {
        using var response = await RawHttp.PostAsync(fixture.Guarded.Url!, body, [Bearer]);

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{what}: status {response.StatusCode}");
        Assert.Equal(code, (await RawHttp.ErrorAsync(response)).Code);
    }

    [Theory]
    [InlineData("0.0.0.0:0", "--allow-remote")]
    [InlineData("[::]:0", "--allow-remote")]
    public async Task Start_NonLoopbackAddressWithoutAllowRemote_Refuses(string address, string hint)
    {
        await using var proxy = ChildProcess.Start(TestPaths.DotNetHost, [TestPaths.ProxyDll, "--http", address]);

        await AssertRefusedToStartAsync(proxy, hint);
    }

    [Fact]
    public async Task Start_AllowRemoteWithoutToken_Refuses()
    {
        await using var proxy = ChildProcess.Start(TestPaths.DotNetHost, [TestPaths.ProxyDll, "--http", "0.0.0.0:0", "--allow-remote"]);

        await AssertRefusedToStartAsync(proxy, "--token-file");
    }

    /// <summary>
    /// The proxy exits with code 2 and names <paramref name="hint"/>; should it print its endpoint instead (listening
    /// beyond loopback), it is killed at once rather than left listening until the timeout.
    /// </summary>
    private static async Task AssertRefusedToStartAsync(ChildProcess proxy, string hint)
    {
        using var stop = new CancellationTokenSource();
        var exit = proxy.WaitForExitAsync(ChildProcess.StartupTimeout);
        var listening = proxy.WaitForLineAsync(l => l.Contains(ProxyProcess.EndpointMarker, StringComparison.Ordinal), ChildProcess.StartupTimeout, stop.Token);
        if (await Task.WhenAny(exit, listening) == listening && listening.IsCompletedSuccessfully)
        {
            proxy.Kill();
            Assert.Fail($"the proxy started listening: {listening.Result}");
        }

        await stop.CancelAsync();
        _ = listening.ContinueWith(t => t.Exception, TaskScheduler.Default);
        Assert.Equal(2, await exit);
        Assert.Contains(proxy.StderrLines, l => l.Contains(hint, StringComparison.Ordinal));
    }
}
