using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Xunit;
using static McpMultiProxy.Tests.Infrastructure.McpTestClient;

namespace McpMultiProxy.Tests.Infrastructure;

/// <summary>Proves the server-everything launcher, over stdio and over loopback HTTP.</summary>
public sealed class ServerEverythingTests
{
    // server-everything asks for roots/list as soon as the session starts; answer like a client without roots.
    private static McpClientOptions ClientOptions()
    {
        var options = NewOptions();
        options.Handlers.RootsHandler = (_, _) => ValueTask.FromResult(new ListRootsResult { Roots = [] });
        return options;
    }

    [ServerEverythingFact]
    public async Task Stdio_CallEcho_Answers()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        await using var client = await McpClient.CreateAsync(ServerEverything.CreateStdioTransport(), ClientOptions(), cancellationToken: cts.Token);

        var result = await client.CallToolAsync("echo", Args(("message", "hi")), cancellationToken: cts.Token);

        Assert.Equal("2025-11-25", client.NegotiatedProtocolVersion);
        Assert.Contains("hi", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text, StringComparison.Ordinal);
    }

    [ServerEverythingFact]
    public async Task Http_ListTools_ServesOnLoopbackOnly()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        await using var server = await ServerEverything.StartHttpAsync();
        await using var client = await McpClient.CreateAsync(
            new HttpClientTransport(new HttpClientTransportOptions { Endpoint = server.Url, TransportMode = HttpTransportMode.StreamableHttp }),
            ClientOptions(),
            cancellationToken: cts.Token);

        var tools = await client.ListToolsAsync(cancellationToken: cts.Token);

        Assert.Equal("127.0.0.1", server.Url.Host);
        Assert.Contains(tools, t => t.Name == "echo");
    }
}
