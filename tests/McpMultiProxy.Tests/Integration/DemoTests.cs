using System.Globalization;
using McpMultiProxy.Tests.Infrastructure;
using Xunit;
using static McpMultiProxy.Tests.Infrastructure.McpTestClient;

namespace McpMultiProxy.Tests.Integration;

/// <summary>The README's run command: <c>--demo</c> serves two built-in servers, clock and notes, over HTTP.</summary>
public sealed class DemoTests
{
    [Fact]
    public async Task Demo_ClockAndNotes_ServeWorkingToolsAndPrintAClientSnippet()
    {
        using var cts = new CancellationTokenSource(ProxyClient.LongTimeout);
        await using var proxy = await ProxyProcess.StartHttpAsync(["--demo", "--http", "127.0.0.1:0"], cts.Token);
        await using var client = await proxy.ConnectAsync(cancellationToken: cts.Token);

        await client.WaitForToolsAsync("clock__now", "clock__add_minutes", "notes__add_note", "notes__list_notes", "notes__get_note");
        var before = DateTimeOffset.UtcNow;
        var now = await client.CallToolAsync("clock__now", cancellationToken: cts.Token);
        var saved = await client.CallToolAsync("notes__add_note", Args(("title", "groceries"), ("text", "milk, eggs")), cancellationToken: cts.Token);
        var listed = await client.CallToolAsync("notes__list_notes", cancellationToken: cts.Token);
        var read = await client.CallToolAsync("notes__get_note", Args(("title", "groceries")), cancellationToken: cts.Token);
        var health = await client.CallToolAsync("proxy_health", cancellationToken: cts.Token);

        var time = DateTimeOffset.Parse(Text(now), CultureInfo.InvariantCulture);
        Assert.InRange(time, before.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Equal("Saved 'groceries' (1 notes).", Text(saved));
        Assert.Equal("groceries", Text(listed));
        Assert.Equal("milk, eggs", Text(read));
        Assert.StartsWith("2/2 servers healthy", Text(health), StringComparison.Ordinal);
        Assert.Contains(proxy.StderrLines, l => l.Contains("2 server(s): clock, notes", StringComparison.Ordinal));
        Assert.Contains(proxy.StderrLines, l => l.Contains($$"""{ "mcpServers": { "multiproxy": { "url": "{{proxy.Url}}" } } }""", StringComparison.Ordinal));
    }
}
