using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Xunit;

namespace McpMultiProxy.Tests.Infrastructure;

/// <summary>Small helpers for tests that drive an MCP server through the SDK client.</summary>
public static class McpTestClient
{
    /// <summary>Upper bound for one test's MCP exchanges; generous for a busy 2-core machine.</summary>
    public static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Client options for tests. Unpinned (<paramref name="protocolVersion"/> null), the SDK client first probes
    /// <c>server/discover</c> and, after <see cref="McpClientOptions.DiscoverProbeTimeout"/> (5 s by default),
    /// falls back to <c>initialize</c> on the same connection. A 2026-capable server that merely started slowly
    /// (a loaded machine) has by then answered the probe and refuses the initialize: the connection fails. Every
    /// server here answers an unknown server/discover with -32601 promptly, so the probe needs no timer of its own.
    /// </summary>
    public static McpClientOptions NewOptions(string? protocolVersion = null) => new()
    {
        ProtocolVersion = protocolVersion,
        DiscoverProbeTimeout = System.Threading.Timeout.InfiniteTimeSpan,
    };

    /// <summary>Tool arguments from name/value pairs.</summary>
    public static Dictionary<string, object?> Args(params (string Name, object? Value)[] arguments) =>
        arguments.ToDictionary(a => a.Name, a => a.Value);

    /// <summary>The single text block of a tool result.</summary>
    public static string Text(CallToolResult result) =>
        Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;

    /// <summary>
    /// Client options whose sampling handler answers "&lt;answer&gt; to '&lt;first prompt text&gt;'". Setting it also
    /// makes the client advertise the sampling capability.
    /// </summary>
    public static McpClientOptions SamplingOptions(string answer, string? protocolVersion = null)
    {
        var options = NewOptions(protocolVersion);
        options.Handlers.SamplingHandler = (request, _, _) => ValueTask.FromResult(new CreateMessageResult
        {
            Model = "test-model",
            Content = [new TextContentBlock { Text = $"{answer} to '{(request?.Messages[0].Content[0] as TextContentBlock)?.Text}'" }],
        });
        return options;
    }

    /// <summary>
    /// Polls <paramref name="condition"/> every 50 ms; fails the test when it is not true within <see cref="TestTimeout"/>,
    /// with <paramref name="describe"/>'s text (what was seen last) when given.
    /// </summary>
    public static Task WaitUntilAsync(Func<bool> condition, Func<string>? describe = null) => WaitUntilAsync(() => Task.FromResult(condition()), describe);

    /// <inheritdoc cref="WaitUntilAsync(Func{bool}, Func{string}?)"/>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, Func<string>? describe = null)
    {
        var deadline = DateTime.UtcNow + TestTimeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"the condition did not become true in time{(describe is null ? "" : $": {describe()}")}");
            await Task.Delay(50);
        }
    }
}
