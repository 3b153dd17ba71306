using McpMultiProxy.Tests.Infrastructure;
using ModelContextProtocol.Client;
using Xunit;
using static McpMultiProxy.Tests.Infrastructure.McpTestClient;

namespace McpMultiProxy.Tests.Integration;

/// <summary>
/// Clients of the HTTP frontend, of both protocol eras, get <c>notifications/tools/list_changed</c> whenever the
/// served tools change: a server added, removed, disabled or enabled with <c>manage</c>, or a server's own list changed.
/// </summary>
public sealed class ListChangedTests(ListChangedTests.Fixture fixture) : IClassFixture<ListChangedTests.Fixture>
{
    public static TheoryData<string?> ProtocolVersions => new() { null, "2025-11-25" };

    [Theory]
    [MemberData(nameof(ProtocolVersions))]
    public async Task ManageAdd_NewServer_ClientIsNotifiedAndSeesItsTools(string? protocolVersion)
    {
        using var cts = new CancellationTokenSource(ProxyClient.LongTimeout);
        var name = Unique("added");
        await using var client = await ConnectAsync(protocolVersion, cts.Token);
        await using var changes = await ToolListChanges.WatchAsync(client, cts.Token);
        var since = changes.Count;

        await client.ManageOkAsync(cts.Token, ("action", "add"), ("name", name), ("url", fixture.Spare.Url.ToString()));
        var tools = await changes.WaitAsync(since, t => t.Contains($"{name}__echo"), $"{name}__echo");

        await client.ManageOkAsync(cts.Token, ("action", "remove"), ("name", name));
        Assert.Contains("alpha__echo", tools);
    }

    [Theory]
    [MemberData(nameof(ProtocolVersions))]
    public async Task ManageRemove_Server_ClientIsNotifiedAndItsToolsAreGone(string? protocolVersion)
    {
        using var cts = new CancellationTokenSource(ProxyClient.LongTimeout);
        var name = Unique("removed");
        await using var client = await ConnectAsync(protocolVersion, cts.Token);
        await client.ManageOkAsync(cts.Token, ("action", "add"), ("name", name), ("url", fixture.Spare.Url.ToString()));
        await client.WaitForToolsAsync($"{name}__echo");
        await using var changes = await ToolListChanges.WatchAsync(client, cts.Token);
        var since = changes.Count;

        await client.ManageOkAsync(cts.Token, ("action", "remove"), ("name", name));
        var tools = await changes.WaitAsync(since, t => !t.Any(n => n.StartsWith($"{name}__", StringComparison.Ordinal)), $"no {name}__ tools");

        Assert.Contains("alpha__echo", tools);
    }

    [Theory]
    [MemberData(nameof(ProtocolVersions))]
    public async Task ManageDisableThenEnable_Server_ClientIsNotifiedEachTime(string? protocolVersion)
    {
        using var cts = new CancellationTokenSource(ProxyClient.LongTimeout);
        var name = Unique("toggled");
        await using var client = await ConnectAsync(protocolVersion, cts.Token);
        await client.ManageOkAsync(cts.Token, ("action", "add"), ("name", name), ("url", fixture.Spare.Url.ToString()));
        await client.WaitForToolsAsync($"{name}__echo");
        await using var changes = await ToolListChanges.WatchAsync(client, cts.Token);

        var beforeDisable = changes.Count;
        await client.ManageOkAsync(cts.Token, ("action", "disable"), ("name", name));
        await changes.WaitAsync(beforeDisable, t => !t.Contains($"{name}__echo"), $"no {name}__echo");
        var beforeEnable = changes.Count;
        await client.ManageOkAsync(cts.Token, ("action", "enable"), ("name", name));
        await changes.WaitAsync(beforeEnable, t => t.Contains($"{name}__echo"), $"{name}__echo back");

        await client.ManageOkAsync(cts.Token, ("action", "remove"), ("name", name));
        Assert.True(changes.Count >= 2, $"{changes.Count} notification(s)");
    }

    [Theory]
    [MemberData(nameof(ProtocolVersions))]
    public async Task BackendChangesItsTools_ClientIsNotifiedAndSeesTheChange(string? protocolVersion)
    {
        using var cts = new CancellationTokenSource(ProxyClient.LongTimeout);
        await using var client = await ConnectAsync(protocolVersion, cts.Token);
        await using var changes = await ToolListChanges.WatchAsync(client, cts.Token);

        var beforeAdd = changes.Count;
        var added = Text(await client.CallToolAsync("alpha__change_tools", cancellationToken: cts.Token))["alpha: added ".Length..];
        await changes.WaitAsync(beforeAdd, t => t.Contains($"alpha__{added}"), $"alpha__{added}");
        Assert.Equal($"alpha: {added} hi", Text(await client.CallToolAsync($"alpha__{added}", Args(("value", "hi")), cancellationToken: cts.Token)));

        var beforeRemove = changes.Count;
        Assert.Equal($"alpha: removed {added}", Text(await client.CallToolAsync("alpha__remove_tool", Args(("name", added)), cancellationToken: cts.Token)));
        var tools = await changes.WaitAsync(beforeRemove, t => !t.Contains($"alpha__{added}"), $"no alpha__{added}");

        Assert.Contains("alpha__echo", tools);
    }

    [Fact]
    public async Task BackendChangesItsTools_StdioFrontend_ClientIsNotified()
    {
        using var cts = new CancellationTokenSource(ProxyClient.LongTimeout);
        using var directory = new TempDirectory();
        var config = TestConfig.Write(directory, new() { ["local"] = TestConfig.TestServerStdio("--name", "local") });
        await using var proxy = await ProxyProcess.StartStdioAsync(["--config", config], cancellationToken: cts.Token);
        var client = proxy.Client!;
        await client.WaitForToolsAsync("local__change_tools");
        await using var changes = await ToolListChanges.WatchAsync(client, cts.Token);
        var since = changes.Count;

        var added = Text(await client.CallToolAsync("local__change_tools", cancellationToken: cts.Token))["local: added ".Length..];
        var tools = await changes.WaitAsync(since, t => t.Contains($"local__{added}"), $"local__{added}");

        Assert.Contains("local__echo", tools);
    }

    private static string Unique(string stem) => $"{stem}-{Guid.NewGuid().ToString("N")[..6]}";

    private async Task<McpClient> ConnectAsync(string? protocolVersion, CancellationToken cancellationToken)
    {
        var client = await fixture.Proxy.ConnectAsync(NewOptions(protocolVersion), cancellationToken);
        await client.WaitForToolsAsync("alpha__echo");
        return client;
    }

    /// <summary>A proxy (HTTP frontend) with 'alpha' from --servers, and a spare HTTP test server to add; each test undoes its changes.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        public TestServerProcess Alpha { get; private set; } = null!;

        public TestServerProcess Spare { get; private set; } = null!;

        public ProxyProcess Proxy { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            var alpha = TestServerProcess.StartAsync("--name", "alpha");
            var spare = TestServerProcess.StartAsync("--name", "spare");
            Alpha = await alpha;
            Spare = await spare;
            Proxy = await ProxyProcess.StartHttpAsync(["--servers", $"alpha={Alpha.Url}"]);
        }

        public async Task DisposeAsync()
        {
            if (Proxy is not null)
            {
                await Proxy.DisposeAsync();
            }

            await Task.WhenAll(Alpha?.DisposeAsync().AsTask() ?? Task.CompletedTask, Spare?.DisposeAsync().AsTask() ?? Task.CompletedTask);
        }
    }
}
