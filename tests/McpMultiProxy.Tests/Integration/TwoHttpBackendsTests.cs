using McpMultiProxy.Tests.Infrastructure;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using Xunit;
using static McpMultiProxy.Tests.Infrastructure.McpTestClient;

namespace McpMultiProxy.Tests.Integration;

/// <summary>Two mcp-testservers over HTTP, given with <c>--servers</c>, behind the proxy's HTTP frontend.</summary>
public sealed class TwoHttpBackendsTests(TwoHttpBackendsTests.Fixture fixture) : IClassFixture<TwoHttpBackendsTests.Fixture>
{
    [Fact]
    public async Task ListTools_TwoServersGiven_ServesBothNamespacedAndTheProxyTools()
    {
        using var cts = new CancellationTokenSource(TestTimeout);

        var tools = await fixture.Client.ListToolsAsync(cancellationToken: cts.Token);
        var names = tools.Select(t => t.Name).ToList();

        Assert.Superset(new HashSet<string>(["alpha__echo", "alpha__add", "beta__echo", "beta__add", .. ProxyClient.ProxyToolNames]), names.ToHashSet());
        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.All(names.Where(n => !ProxyClient.ProxyToolNames.Contains(n)), n => Assert.Matches("^(alpha|beta)__", n));
        Assert.Equal(names.Count(n => n.StartsWith("alpha__", StringComparison.Ordinal)), names.Count(n => n.StartsWith("beta__", StringComparison.Ordinal)));
        Assert.Equal("Echoes 'text' back as '<name>: <text>'.", tools.Single(t => t.Name == "beta__echo").Description);
    }

    [Fact]
    public async Task CallTool_RoutedToEachServer_AnswersFromThatServer()
    {
        using var cts = new CancellationTokenSource(TestTimeout);

        var alpha = await fixture.Client.CallToolAsync("alpha__echo", Args(("text", "to alpha")), cancellationToken: cts.Token);
        var beta = await fixture.Client.CallToolAsync("beta__echo", Args(("text", "to beta")), cancellationToken: cts.Token);
        var sum = await fixture.Client.CallToolAsync("beta__add", Args(("a", 2), ("b", 40)), cancellationToken: cts.Token);
        var alphaPid = await fixture.Client.CallToolAsync("alpha__whoami", cancellationToken: cts.Token);
        var betaPid = await fixture.Client.CallToolAsync("beta__whoami", cancellationToken: cts.Token);

        Assert.Equal("alpha: to alpha", Text(alpha));
        Assert.Equal("beta: to beta", Text(beta));
        Assert.Equal(42, sum.StructuredContent!.Value.GetProperty("sum").GetDouble());
        Assert.Equal(fixture.Alpha.Pid, alphaPid.StructuredContent!.Value.GetProperty("pid").GetInt32());
        Assert.Equal(fixture.Beta.Pid, betaPid.StructuredContent!.Value.GetProperty("pid").GetInt32());
    }

    [Theory]
    [InlineData(null)] // the SDK's newest revision, 2026-07-28: protocol fields travel in every request's _meta
    [InlineData("2025-11-25")]
    [InlineData("2025-06-18")]
    public async Task CallGetPromptReadResource_ClientOfEachProtocolEra_AreRoutedToTheBackend(string? protocolVersion)
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        await using var client = await fixture.Proxy.ConnectAsync(NewOptions(protocolVersion), cts.Token);

        var echo = await client.CallToolAsync("beta__echo", Args(("text", "hi")), cancellationToken: cts.Token);
        var prompt = await client.GetPromptAsync("alpha__greet", Args(("name", "Ada")), cancellationToken: cts.Token);
        var resource = await client.ReadResourceAsync("test://beta/static", cancellationToken: cts.Token);

        Assert.Equal(protocolVersion ?? "2026-07-28", client.NegotiatedProtocolVersion);
        Assert.Equal("beta: hi", Text(echo));
        Assert.Equal("alpha: Hello, Ada!", Assert.IsType<ModelContextProtocol.Protocol.TextContentBlock>(Assert.Single(prompt.Messages).Content).Text);
        Assert.Equal("beta: static resource", Assert.IsType<ModelContextProtocol.Protocol.TextResourceContents>(Assert.Single(resource.Contents)).Text);
    }

    [Fact]
    public async Task CallTool_UnknownTool_IsAJsonRpcErrorNamingIt()
    {
        using var cts = new CancellationTokenSource(TestTimeout);

        var error = await Assert.ThrowsAsync<McpProtocolException>(
            async () => await fixture.Client.CallToolAsync("gamma__echo", Args(("text", "x")), cancellationToken: cts.Token));

        Assert.Equal(McpErrorCode.InvalidParams, error.ErrorCode);
        Assert.Contains("gamma__echo", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProxyStatus_TwoServersGiven_ShowsBothHealthyWithTheirTargets()
    {
        using var cts = new CancellationTokenSource(TestTimeout);

        var alpha = await fixture.Client.ServerStatusAsync("alpha", cts.Token);
        var beta = await fixture.Client.ServerStatusAsync("beta", cts.Token);

        Assert.Equal("healthy", alpha.State());
        Assert.Equal("http", alpha.GetProperty("transport").GetString());
        Assert.Equal(fixture.Alpha.Url.ToString(), alpha.GetProperty("target").GetString());
        Assert.Equal(fixture.Beta.Url.ToString(), beta.GetProperty("target").GetString());
        Assert.Equal("beta", beta.GetProperty("server").GetProperty("name").GetString());
    }

    /// <summary>Two HTTP test servers and a proxy (HTTP frontend) started once for the class; tests only read.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        public TestServerProcess Alpha { get; private set; } = null!;

        public TestServerProcess Beta { get; private set; } = null!;

        public ProxyProcess Proxy { get; private set; } = null!;

        public McpClient Client { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            var alpha = TestServerProcess.StartAsync("--name", "alpha");
            var beta = TestServerProcess.StartAsync("--name", "beta");
            Alpha = await alpha;
            Beta = await beta;
            Proxy = await ProxyProcess.StartHttpAsync(["--servers", $"alpha={Alpha.Url},beta={Beta.Url}"]);
            Client = await Proxy.ConnectAsync();
            await Client.WaitForToolsAsync("alpha__echo", "beta__echo");
        }

        public async Task DisposeAsync()
        {
            if (Client is not null)
            {
                await Client.DisposeAsync();
            }

            if (Proxy is not null)
            {
                await Proxy.DisposeAsync();
            }

            await Task.WhenAll(Alpha?.DisposeAsync().AsTask() ?? Task.CompletedTask, Beta?.DisposeAsync().AsTask() ?? Task.CompletedTask);
        }
    }
}
