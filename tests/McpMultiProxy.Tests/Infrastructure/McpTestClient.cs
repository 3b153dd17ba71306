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
    /// <paramref name="options"/> (or new ones) with a <c>server/discover</c> probe timeout fit for a busy machine. The
    /// SDK client gives a server 5 s to answer the probe, then falls back to <c>initialize</c>; a server still starting
    /// (JIT on a loaded machine) answers the probe late, has then agreed on 2026-07-28, and refuses that
    /// <c>initialize</c>. Every server these tests connect to answers the probe (or refuses it at once), so waiting costs nothing.
    /// </summary>
    public static McpClientOptions Patient(McpClientOptions? options)
    {
        options ??= new McpClientOptions();
        if (options.DiscoverProbeTimeout == new McpClientOptions().DiscoverProbeTimeout)
        {
            options.DiscoverProbeTimeout = ChildProcess.StartupTimeout;
        }

        return options;
    }

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
    public static McpClientOptions SamplingOptions(string answer, string? protocolVersion = null) => new()
    {
        ProtocolVersion = protocolVersion,
        Handlers = new McpClientHandlers
        {
            SamplingHandler = (request, _, _) => ValueTask.FromResult(new CreateMessageResult
            {
                Model = "test-model",
                Content = [new TextContentBlock { Text = $"{answer} to '{(request?.Messages[0].Content[0] as TextContentBlock)?.Text}'" }],
            }),
        },
    };
}
