using System.Text.Json.Nodes;
using McpMultiProxy.Tests.Infrastructure;
using Xunit;
using static McpMultiProxy.Tests.Infrastructure.McpTestClient;

namespace McpMultiProxy.Tests.Integration;

/// <summary>With <c>--config</c>, what <c>manage</c> changes is saved and is there again after a restart of the proxy.</summary>
public sealed class PersistenceTests
{
    [Fact]
    public async Task ManageAddRemoveDisable_WithConfigFile_SurviveARestart()
    {
        using var cts = new CancellationTokenSource(ProxyClient.LongTimeout);
        using var directory = new TempDirectory();
        await using var web = await TestServerProcess.StartAsync("--name", "web");
        var config = TestConfig.Write(directory, new JsonObject { ["alpha"] = TestConfig.Http(web.Url), ["beta"] = TestConfig.Http(web.Url) });

        await using (var first = await ProxyProcess.StartStdioAsync(["--config", config, "--servers", $"temp={web.Url}"], cancellationToken: cts.Token))
        {
            var client = first.Client!;
            await client.WaitForToolsAsync("alpha__echo", "beta__echo", "temp__echo");
            await client.ManageOkAsync(cts.Token, ("action", "add"), ("name", "gamma"), ("url", web.Url.ToString()));
            await client.ManageOkAsync(cts.Token, ("action", "disable"), ("name", "beta"));
            await client.ManageOkAsync(cts.Token, ("action", "remove"), ("name", "alpha"));
        }

        var saved = TestConfig.ReadServers(config);
        Assert.Equal(["beta", "gamma"], saved.Select(s => s.Key));
        Assert.False(saved["beta"]!["enabled"]!.GetValue<bool>());
        Assert.Equal(web.Url.ToString(), saved["gamma"]!["url"]!.GetValue<string>());

        await using var second = await ProxyProcess.StartStdioAsync(["--config", config], cancellationToken: cts.Token);
        var restarted = second.Client!;
        await restarted.WaitForStateAsync("gamma", "healthy");
        var list = await restarted.ManageOkAsync(cts.Token, ("action", "list"));
        var servers = list.StructuredContent!.Value.GetProperty("servers").EnumerateArray().ToList();
        var tools = await restarted.WaitForToolsAsync("gamma__echo");

        Assert.Equal(["beta", "gamma"], servers.Select(s => s.GetProperty("name").GetString()));
        Assert.Equal(["disabled", "healthy"], servers.Select(s => s.State()));
        Assert.DoesNotContain(tools, t => t.StartsWith("beta__", StringComparison.Ordinal) || t.StartsWith("alpha__", StringComparison.Ordinal) || t.StartsWith("temp__", StringComparison.Ordinal));
        Assert.Equal("web: after restart", Text(await restarted.CallToolAsync("gamma__echo", Args(("text", "after restart")), cancellationToken: cts.Token)));
    }

    [Fact]
    public async Task AllowStdioAddFlag_ManageAddsAProgram_ProgramIsSavedButTheFlagIsNot()
    {
        using var cts = new CancellationTokenSource(ProxyClient.LongTimeout);
        using var directory = new TempDirectory();
        var config = directory.Combine("created-on-first-change.json");

        await using (var first = await ProxyProcess.StartStdioAsync(["--config", config, "--allow-stdio-add"], cancellationToken: cts.Token))
        {
            var client = first.Client!;
            await client.ManageOkAsync(
                cts.Token,
                ("action", "add"),
                ("name", "local"),
                ("command", TestServerCommand.Command),
                ("args", TestServerCommand.Arguments("--name", "local")));
            await client.WaitForToolsAsync("local__echo");
            Assert.Equal("local: started by manage", Text(await client.CallToolAsync("local__echo", Args(("text", "started by manage")), cancellationToken: cts.Token)));
        }

        var saved = JsonNode.Parse(await File.ReadAllTextAsync(config, cts.Token))!;
        Assert.Equal(TestServerCommand.Command, saved["mcpServers"]!["local"]!["command"]!.GetValue<string>());
        Assert.Null(saved["proxy"]?["allowStdioAdd"]);

        await using var second = await ProxyProcess.StartStdioAsync(["--config", config], cancellationToken: cts.Token);
        await second.Client!.WaitForToolsAsync("local__echo");
        var refused = await second.Client!.ManageAsync(
            cts.Token,
            ("action", "add"),
            ("name", "another"),
            ("command", TestServerCommand.Command),
            ("args", TestServerCommand.Arguments("--name", "another")));

        Assert.True(refused.IsError, Text(refused));
        Assert.Contains("--allow-stdio-add", Text(refused), StringComparison.Ordinal);
    }
}
