using System.Text.Json;
using System.Text.Json.Nodes;
using McpMultiProxy.Backends;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using static McpMultiProxy.Tests.Backends.InMemoryBackends;

namespace McpMultiProxy.Tests.Backends;

/// <summary>The proxy swaps the client's progress token for one of its own per call, and only for that call.</summary>
public sealed class ProgressTokenTests
{
    [Fact]
    public async Task SendAsync_CallerWithProgressToken_ParametersKeepTheClientsTokenForARetry()
    {
        // A retry (another replica, or a re-initialised session) sends the same parameters again: they must still
        // carry the client's token, or the retried call's progress would reach the client under a token it never issued.
        var backends = new InMemoryBackends();
        await using var backend = await backends.StartHealthyAsync(Config("web", "http://a.test/mcp"));
        await using var caller = McpServer.Create(new StreamServerTransport(Stream.Null, Stream.Null), new McpServerOptions());
        var parameters = new CallToolRequestParams
        {
            Name = "echo",
            Arguments = new Dictionary<string, JsonElement> { ["text"] = JsonElement.Parse("\"hi\"") },
            Meta = new JsonObject { ["progressToken"] = "client-1" },
        };

        for (var attempt = 0; attempt < 2; attempt++)
        {
            await backend.SendAsync<CallToolRequestParams, CallToolResult>(RequestMethods.ToolsCall, parameters, caller, retryable: false, CancellationToken.None);

            Assert.Equal("client-1", parameters.ProgressToken?.ToString());
        }
    }
}
