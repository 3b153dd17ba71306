using System.Net;
using McpMultiProxy.Tests.Infrastructure;
using Xunit;

namespace McpMultiProxy.Tests.Admin;

/// <summary>A proxy serving one healthy backend, 'alpha', shared by the tests of a class that do not change it.</summary>
public sealed class AlphaProxyFixture : IAsyncLifetime
{
    private TestServerProcess? _alpha;

    public ProxyProcess Proxy { get; private set; } = null!;

    public AdminApiClient Api { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _alpha = await TestServerProcess.StartAsync("--name", "alpha");
        Proxy = await ProxyProcess.StartHttpAsync(["--servers", $"alpha={_alpha.Url}"]);
        Api = new AdminApiClient(Proxy);
        await Api.WaitForStateAsync("alpha", "healthy");
    }

    public async Task DisposeAsync()
    {
        Api?.Dispose();
        if (Proxy is not null)
        {
            await Proxy.DisposeAsync();
        }

        if (_alpha is not null)
        {
            await _alpha.DisposeAsync();
        }
    }
}

/// <summary>Bad requests get a JSON error that names what is wrong, and change nothing.</summary>
public sealed class AdminApiBadInputTests(AlphaProxyFixture fixture) : IClassFixture<AlphaProxyFixture>
{
    public static TheoryData<string, string, string?, string?, HttpStatusCode, string> Cases => new()
    {
        { "POST", "/api/backends", "{not json", "application/json", HttpStatusCode.BadRequest, "not valid JSON" },
        { "POST", "/api/backends", "[1, 2]", "application/json", HttpStatusCode.BadRequest, "must be a JSON object" },
        { "POST", "/api/backends", "", "application/json", HttpStatusCode.BadRequest, "not valid JSON" },
        { "POST", "/api/backends", """{"name": "web"}""", "application/json", HttpStatusCode.BadRequest, "give 'url'" },
        { "POST", "/api/backends", """{"name": "web", "url": "http://127.0.0.1:1/mcp", "colour": "red"}""", "application/json", HttpStatusCode.BadRequest, "unknown argument 'colour'" },
        { "POST", "/api/backends", """{"name": "no spaces", "url": "http://127.0.0.1:1/mcp"}""", "application/json", HttpStatusCode.BadRequest, "server name 'no spaces' is not valid" },
        { "POST", "/api/backends", """{"name": "alpha", "url": "http://127.0.0.1:1/mcp", "headers": {"X-Team": "a"}}""", "application/json", HttpStatusCode.BadRequest, "'alpha' already exists" },
        { "POST", "/api/backends", """{"name": "web", "url": 5}""", "application/json", HttpStatusCode.BadRequest, "'url' must be a string" },
        { "POST", "/api/backends", """{"action": "remove", "name": "alpha"}""", "application/json", HttpStatusCode.BadRequest, "'action' is not a field" },
        { "POST", "/api/backends", """{"name": "sh", "command": "sh", "args": ["-c", "touch /tmp/pwned"]}""", "application/json", HttpStatusCode.BadRequest, "--allow-stdio-add" },
        { "POST", "/api/backends", """{"name": "web", "url": "http://127.0.0.1:1/mcp"}""", "text/plain", HttpStatusCode.UnsupportedMediaType, "Content-Type: application/json" },
        { "POST", "/api/backends/alpha/disable", "", null, HttpStatusCode.UnsupportedMediaType, "Content-Type: application/json" },
        { "POST", "/api/backends/alpha/disable", "name=alpha", "application/x-www-form-urlencoded", HttpStatusCode.UnsupportedMediaType, "Content-Type: application/json" },
        { "POST", "/api/tools/call", "{}", "application/json", HttpStatusCode.BadRequest, "'name' is required" },
        { "POST", "/api/tools/call", """{"name": "alpha__nope"}""", "application/json", HttpStatusCode.BadRequest, "no tool named 'alpha__nope'" },
        { "POST", "/api/tools/call", """{"name": "alpha__echo", "arguments": [1]}""", "application/json", HttpStatusCode.BadRequest, "'arguments' must be a JSON object" },
        { "POST", "/api/tools/call", """{"name": "alpha__echo", "args": {}}""", "application/json", HttpStatusCode.BadRequest, "unknown field 'args'" },
        { "GET", "/api/events?limit=lots", null, null, HttpStatusCode.BadRequest, "'limit' must be a whole number" },
        { "GET", "/api/errors?limit=0", null, null, HttpStatusCode.BadRequest, "'limit' must be a whole number" },
        { "GET", "/api/events?after=-1", null, null, HttpStatusCode.BadRequest, "'after' must be a whole number" },
        { "GET", "/api/backends/nope", null, null, HttpStatusCode.NotFound, "no server named 'nope'. Known servers: alpha" },
        { "GET", "/api/backends/nope/tools", null, null, HttpStatusCode.NotFound, "no server named 'nope'" },
        { "POST", "/api/backends/nope/enable", "", "application/json", HttpStatusCode.NotFound, "no server named 'nope'" },
        { "DELETE", "/api/backends/nope", null, null, HttpStatusCode.NotFound, "no server named 'nope'" },
        { "GET", "/api/nothing/here", null, null, HttpStatusCode.NotFound, "GET /api/nothing/here is not an endpoint" },
        { "POST", "/api/backends/alpha/approve", """{"tool": "echo", "why": "because"}""", "application/json", HttpStatusCode.BadRequest, "unknown field 'why'" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Request_BadInput_AnswersJsonErrorNamingTheProblem(string method, string path, string? body, string? contentType, HttpStatusCode expected, string fragment)
    {
        var (status, answer) = await fixture.Api.SendAsync(new HttpMethod(method), path, body, contentType);

        Assert.Equal(expected, status);
        Assert.Contains(fragment, answer!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        var (_, servers) = await fixture.Api.GetAsync("/api/backends");
        var only = Assert.Single(servers!.AsArray());
        Assert.Equal("alpha", only!["name"]!.GetValue<string>());
        Assert.True(only["enabled"]!.GetValue<bool>());
    }

    [Fact]
    public async Task EventStream_BadLastEventId_Answers400()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/events/stream");
        request.Headers.Add("Last-Event-ID", "yesterday");
        using var response = await fixture.Api.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("'Last-Event-ID'", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Index_ListsEveryEndpoint()
    {
        var (status, index) = await fixture.Api.GetAsync("/api");

        Assert.Equal(HttpStatusCode.OK, status);
        var lines = index!["endpoints"]!.AsArray().Select(e => e!.GetValue<string>()).ToList();
        Assert.Contains(lines, l => l.StartsWith("POST   /api/backends ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("GET    /metrics", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Console_IsServedFromTheProxyWithAStrictContentSecurityPolicy()
    {
        using var page = await fixture.Api.Http.GetAsync("/");
        using var script = await fixture.Api.Http.GetAsync("/console/console.js");
        using var missing = await fixture.Api.Http.GetAsync("/console/../appsettings.json");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        Assert.Contains("script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Contains("/console/console.js", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType!.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.False(page.Headers.Contains("Access-Control-Allow-Origin"));
    }
}
