using System.Text.Json.Nodes;
using McpMultiProxy.Tests.Infrastructure;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Xunit;
using static McpMultiProxy.Tests.Infrastructure.McpTestClient;

namespace McpMultiProxy.Tests.Integration;

/// <summary>
/// stdio servers from a config file: mcp-testserver ('alpha') and the npm reference server-everything
/// ('everything'); tools, prompts and resources of both, each routed to its owner.
/// </summary>
public sealed class ConfigStdioBackendsTests(ConfigStdioBackendsTests.Fixture fixture) : IClassFixture<ConfigStdioBackendsTests.Fixture>
{
    private McpClient Client => fixture.Proxy.Client!;

    [Fact]
    public async Task TestServer_ToolPromptResourceAndTemplate_AreRoutedToIt()
    {
        using var cts = new CancellationTokenSource(TestTimeout);

        var echo = await Client.CallToolAsync("alpha__echo", Args(("text", "over stdio")), cancellationToken: cts.Token);
        var prompts = await Client.ListPromptsAsync(cancellationToken: cts.Token);
        var prompt = await Client.GetPromptAsync("alpha__greet", Args(("name", "Grace")), cancellationToken: cts.Token);
        var resource = await Client.ReadResourceAsync("test://alpha/static", cancellationToken: cts.Token);
        var item = await Client.ReadResourceAsync("test://alpha/item/7", cancellationToken: cts.Token);
        var status = await Client.ServerStatusAsync("alpha", cts.Token);

        Assert.Equal("alpha: over stdio", Text(echo));
        Assert.Contains(prompts, p => p.Name == "alpha__greet");
        Assert.Equal("alpha: Hello, Grace!", Assert.IsType<TextContentBlock>(Assert.Single(prompt.Messages).Content).Text);
        Assert.Equal("alpha: static resource", Assert.IsType<TextResourceContents>(Assert.Single(resource.Contents)).Text);
        Assert.Equal("alpha: item 7", Assert.IsType<TextResourceContents>(Assert.Single(item.Contents)).Text);
        Assert.Equal("stdio", status.GetProperty("transport").GetString());
        Assert.Equal("healthy", status.State());
    }

    [ServerEverythingFact]
    public async Task ServerEverything_ToolPromptAndResources_AreRoutedToIt()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        await Client.WaitForToolsAsync("everything__echo");

        var echo = await Client.CallToolAsync("everything__echo", Args(("message", "hello everything")), cancellationToken: cts.Token);
        var sum = await Client.CallToolAsync("everything__get-sum", Args(("a", 19), ("b", 23)), cancellationToken: cts.Token);
        var prompt = await Client.GetPromptAsync("everything__simple-prompt", cancellationToken: cts.Token);
        var resources = await Client.ListResourcesAsync(cancellationToken: cts.Token);
        var document = resources.First(r => r.Uri.StartsWith("demo://resource/static/document/", StringComparison.Ordinal));
        var read = await Client.ReadResourceAsync(document.Uri, cancellationToken: cts.Token);
        var dynamic = await Client.ReadResourceAsync("demo://resource/dynamic/text/1", cancellationToken: cts.Token);

        Assert.Equal("Echo: hello everything", Text(echo));
        Assert.Contains("42", Text(sum), StringComparison.Ordinal);
        Assert.Equal("This is a simple prompt without arguments.", Assert.IsType<TextContentBlock>(Assert.Single(prompt.Messages).Content).Text);
        Assert.False(string.IsNullOrEmpty(Assert.IsType<TextResourceContents>(Assert.Single(read.Contents)).Text));
        Assert.Equal("demo://resource/dynamic/text/1", Assert.Single(dynamic.Contents).Uri);
    }

    [ServerEverythingFact]
    public async Task ListTools_BothServers_AreNamespacedWithoutClashes()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        var tools = await Client.WaitForToolsAsync("alpha__echo", "everything__echo");
        var prompts = await Client.ListPromptsAsync(cancellationToken: cts.Token);
        var proxyStatus = await Client.CallToolAsync("proxy_status", cancellationToken: cts.Token);

        Assert.All(tools.Except(ProxyClient.ProxyToolNames), t => Assert.Matches("^(alpha|everything)__", t));
        Assert.Contains(prompts, p => p.Name == "everything__simple-prompt");
        Assert.Contains(prompts, p => p.Name == "alpha__greet");
        Assert.Empty(proxyStatus.StructuredContent!.Value.GetProperty("conflicts").EnumerateArray());
    }

    /// <summary>The proxy (stdio frontend) started once with a config file of stdio servers; tests only read.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        private readonly TempDirectory _directory = new();

        public ProxyProcess Proxy { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            var servers = new JsonObject { ["alpha"] = TestConfig.TestServerStdio("--name", "alpha") };
            if (ServerEverything.MissingReason is null)
            {
                servers["everything"] = TestConfig.Stdio(ServerEverything.Command, ServerEverything.StdioArguments);
            }

            var config = TestConfig.Write(_directory, servers);
            Proxy = await ProxyProcess.StartStdioAsync(["--config", config]);
            await Proxy.Client!.WaitForToolsAsync("alpha__echo");
        }

        public async Task DisposeAsync()
        {
            if (Proxy is not null)
            {
                await Proxy.DisposeAsync();
            }

            _directory.Dispose();
        }
    }
}
