using System.Text.Json;
using System.Text.Json.Nodes;
using McpMultiProxy.Tests.Infrastructure;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using Xunit;
using static McpMultiProxy.Tests.Infrastructure.McpTestClient;

namespace McpMultiProxy.Tests.Integration;

/// <summary>
/// Every <c>manage</c> action on a proxy with a config file, and every bad input: each bad call gets an error
/// result saying what was wrong and how to fix it, and leaves the running servers and the saved file as they were.
/// </summary>
public sealed class ManageToolTests(ManageToolTests.Fixture fixture) : IClassFixture<ManageToolTests.Fixture>
{
    private McpClient Client => fixture.Client;

    public static TheoryData<string, string[]> BadInputs => new()
    {
        { """{"action":"explode","name":"alpha"}""", ["unknown action 'explode'", "add, remove, list, enable, disable, health"] },
        { """{"name":"alpha"}""", ["'action' is required", "add, remove, list, enable, disable, health"] },
        { """{"action":"remove"}""", ["manage remove: 'name' is required", "'list' shows them"] },
        { """{"action":"disable"}""", ["manage disable: 'name' is required"] },
        { """{"action":"enable","name":""}""", ["manage enable: 'name' is required"] },
        { """{"action":"add","name":"alpha","url":"{spare}"}""", ["a server named 'alpha' already exists", "Choose another name"] },
        { """{"action":"add","name":"gamma","url":"not a url"}""", ["'not a url' is not a valid URL", "http://host:port/path"] },
        { """{"action":"add","name":"gamma","url":"ftp://127.0.0.1/mcp"}""", ["is not a valid URL", "http://host:port/path"] },
        { """{"action":"add","name":"gamma"}""", ["give 'url'", "http://127.0.0.1:8000/mcp"] },
        { """{"action":"add","name":"bad name!","url":"{spare}"}""", ["server name 'bad name!' is not valid", "letters, digits, '-' or '_'"] },
        { """{"action":"add","name":"a__b","url":"{spare}"}""", ["contains the separator '__'", "rename it"] },
        { """{"action":"add","name":"gamma","url":"{spare}","command":"dotnet"}""", ["either 'url' or 'command', not both"] },
        { """{"action":"add","name":"gamma","url":"{spare}","transport":"carrier-pigeon"}""", ["transport 'carrier-pigeon' is not known", "'http', 'sse' or 'stdio'"] },
        { """{"action":"add","name":"prog","command":"{dotnet}","args":["{testserver}"]}""", ["turned off", "--allow-stdio-add", "allowStdioAdd"] },
        { """{"action":"remove","name":"nope"}""", ["there is no server named 'nope'", "Known servers: alpha", "'list'"] },
        { """{"action":"disable","name":"nope"}""", ["there is no server named 'nope'"] },
        { """{"action":"enable","name":"nope"}""", ["there is no server named 'nope'"] },
        { """{"action":"health","name":"nope"}""", ["there is no server named 'nope'", "'all'"] },
        { """{"action":"list","nmae":"alpha"}""", ["unknown argument 'nmae'", "action, name, url"] },
        { """{"action":"remove","name":42}""", ["'name' must be a string"] },
    };

    [Fact]
    public async Task Manage_AddListDisableEnableHealthRemove_EachTakesEffectAtOnceAndIsSaved()
    {
        using var cts = new CancellationTokenSource(ProxyClient.LongTimeout);

        // add
        var added = await Client.ManageOkAsync(cts.Token, ("action", "add"), ("name", "gamma"), ("url", fixture.Spare.Url.ToString()));
        Assert.StartsWith($"Added server 'gamma' ({fixture.Spare.Url})", Text(added), StringComparison.Ordinal);
        Assert.EndsWith($"Saved to {fixture.ConfigPath}.", Text(added), StringComparison.Ordinal);
        Assert.Equal(fixture.Spare.Url.ToString(), TestConfig.ReadServers(fixture.ConfigPath)["gamma"]!["url"]!.GetValue<string>());
        await Client.WaitForStateAsync("gamma", "healthy");
        await Client.WaitForToolsAsync("gamma__echo", "alpha__echo");
        Assert.Equal("spare: added", Text(await Client.CallToolAsync("gamma__echo", Args(("text", "added")), cancellationToken: cts.Token)));

        // list
        var list = await Client.ManageOkAsync(cts.Token, ("action", "list"));
        var servers = list.StructuredContent!.Value.GetProperty("servers").EnumerateArray().ToList();
        Assert.Equal(["alpha", "gamma"], servers.Select(s => s.GetProperty("name").GetString()));
        Assert.All(servers, s => Assert.Equal("healthy", s.State()));
        Assert.Contains("- gamma: healthy, http", Text(list), StringComparison.Ordinal);

        // disable
        var disabled = await Client.ManageOkAsync(cts.Token, ("action", "disable"), ("name", "gamma"));
        Assert.StartsWith("Disabled server 'gamma'", Text(disabled), StringComparison.Ordinal);
        Assert.False(TestConfig.ReadServers(fixture.ConfigPath)["gamma"]!["enabled"]!.GetValue<bool>());
        Assert.DoesNotContain(await Client.ToolNamesAsync(cts.Token), t => t.StartsWith("gamma__", StringComparison.Ordinal));
        var gammaOff = await Client.ServerStatusAsync("gamma", cts.Token);
        Assert.Equal("disabled", gammaOff.State());
        Assert.False(gammaOff.GetProperty("enabled").GetBoolean());
        var refused = await Assert.ThrowsAsync<McpProtocolException>(
            async () => await Client.CallToolAsync("gamma__echo", Args(("text", "x")), cancellationToken: cts.Token));
        Assert.Contains("'gamma'", refused.Message, StringComparison.Ordinal);
        Assert.Contains("disabled", refused.Message, StringComparison.Ordinal);

        // enable
        var enabled = await Client.ManageOkAsync(cts.Token, ("action", "enable"), ("name", "gamma"));
        Assert.StartsWith("Enabled server 'gamma'", Text(enabled), StringComparison.Ordinal);
        Assert.Null(TestConfig.ReadServers(fixture.ConfigPath)["gamma"]!["enabled"]);
        await Client.WaitForStateAsync("gamma", "healthy");
        await Client.WaitForToolsAsync("gamma__echo");
        Assert.Equal("spare: back", Text(await Client.CallToolAsync("gamma__echo", Args(("text", "back")), cancellationToken: cts.Token)));

        // health, one and all
        var one = await Client.ManageOkAsync(cts.Token, ("action", "health"), ("name", "gamma"));
        var checkedOne = Assert.Single(one.StructuredContent!.Value.GetProperty("servers").EnumerateArray());
        Assert.True(Assert.Single(checkedOne.GetProperty("check").EnumerateArray()).GetProperty("ok").GetBoolean());
        Assert.StartsWith("Health check of 1 server(s): 1 healthy", Text(one), StringComparison.Ordinal);
        foreach (var all in new[] { await Client.ManageOkAsync(cts.Token, ("action", "health")), await Client.ManageOkAsync(cts.Token, ("action", "health"), ("name", "all")) })
        {
            var summary = all.StructuredContent!.Value.GetProperty("summary");
            Assert.Equal(2, summary.GetProperty("total").GetInt32());
            Assert.Equal(2, summary.GetProperty("healthy").GetInt32());
            Assert.Contains("- alpha: healthy, ping", Text(all), StringComparison.Ordinal);
            Assert.Contains("- gamma: healthy, ping", Text(all), StringComparison.Ordinal);
        }

        // remove
        var removed = await Client.ManageOkAsync(cts.Token, ("action", "remove"), ("name", "gamma"));
        Assert.StartsWith("Removed server 'gamma'.", Text(removed), StringComparison.Ordinal);
        Assert.False(TestConfig.ReadServers(fixture.ConfigPath).ContainsKey("gamma"));
        Assert.True(TestConfig.ReadServers(fixture.ConfigPath).ContainsKey("alpha"));
        Assert.DoesNotContain(await Client.ToolNamesAsync(cts.Token), t => t.StartsWith("gamma__", StringComparison.Ordinal));
        Assert.Equal(["alpha"], (await Client.ManageOkAsync(cts.Token, ("action", "list"))).StructuredContent!.Value.GetProperty("servers").EnumerateArray().Select(s => s.GetProperty("name").GetString()));
    }

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task Manage_BadInput_ErrorSaysWhatAndHowToFix_AndNothingChanges(string arguments, string[] expected)
    {
        using var cts = new CancellationTokenSource(ProxyClient.LongTimeout);
        var json = arguments
            .Replace("{spare}", fixture.Spare.Url.ToString(), StringComparison.Ordinal)
            .Replace("{dotnet}", JsonEncodedText.Encode(TestServerCommand.Command).ToString(), StringComparison.Ordinal)
            .Replace("{testserver}", JsonEncodedText.Encode(TestPaths.TestServerDll).ToString(), StringComparison.Ordinal);
        var args = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json)!.ToDictionary(a => a.Key, a => (object?)a.Value);
        var fileBefore = await File.ReadAllBytesAsync(fixture.ConfigPath, cts.Token);
        var serversBefore = await RunningServersAsync(cts.Token);
        var toolsBefore = await Client.ToolNamesAsync(cts.Token);

        var result = await Client.CallToolAsync("manage", args, cancellationToken: cts.Token);

        Assert.True(result.IsError, $"expected an error for {json}, got: {Text(result)}");
        Assert.All(expected, e => Assert.Contains(e, Text(result), StringComparison.Ordinal));
        Assert.False(result.StructuredContent!.Value.GetProperty("ok").GetBoolean());
        Assert.Equal(Text(result), result.StructuredContent!.Value.GetProperty("error").GetString());
        Assert.Equal(fileBefore, await File.ReadAllBytesAsync(fixture.ConfigPath, cts.Token));
        Assert.Equal(serversBefore, await RunningServersAsync(cts.Token));
        Assert.Equal(toolsBefore.Order(StringComparer.Ordinal), (await Client.ToolNamesAsync(cts.Token)).Order(StringComparer.Ordinal));
    }

    /// <summary>Name, transport, target and enabled of every server: what a bad call must not change.</summary>
    private async Task<string> RunningServersAsync(CancellationToken cancellationToken)
    {
        var list = await Client.ManageOkAsync(cancellationToken, ("action", "list"));
        return string.Join("; ", list.StructuredContent!.Value.GetProperty("servers").EnumerateArray().Select(s =>
            $"{s.GetProperty("name")} {s.GetProperty("transport")} {s.GetProperty("target")} enabled={s.GetProperty("enabled")}"));
    }

    /// <summary>
    /// A proxy (HTTP frontend) with a config file holding 'alpha' (HTTP test server), and a spare HTTP test server
    /// for the adds. The tests run one at a time and each leaves the set of servers as it found it.
    /// </summary>
    public sealed class Fixture : IAsyncLifetime
    {
        private readonly TempDirectory _directory = new();

        public TestServerProcess Alpha { get; private set; } = null!;

        public TestServerProcess Spare { get; private set; } = null!;

        public string ConfigPath { get; private set; } = "";

        public ProxyProcess Proxy { get; private set; } = null!;

        public McpClient Client { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            var alpha = TestServerProcess.StartAsync("--name", "alpha");
            var spare = TestServerProcess.StartAsync("--name", "spare");
            Alpha = await alpha;
            Spare = await spare;
            ConfigPath = TestConfig.Write(_directory, new JsonObject { ["alpha"] = TestConfig.Http(Alpha.Url) });
            Proxy = await ProxyProcess.StartHttpAsync(["--config", ConfigPath]);
            Client = await Proxy.ConnectAsync();
            await Client.WaitForToolsAsync("alpha__echo");
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

            await Task.WhenAll(Alpha?.DisposeAsync().AsTask() ?? Task.CompletedTask, Spare?.DisposeAsync().AsTask() ?? Task.CompletedTask);
            _directory.Dispose();
        }
    }
}
