using System.Text.Json;
using System.Text.Json.Nodes;
using McpMultiProxy.Tests.Infrastructure;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Xunit;
using static McpMultiProxy.Tests.Infrastructure.McpTestClient;

namespace McpMultiProxy.Tests.Security;

/// <summary>A stdio proxy with default settings (no program may be started through manage) and a scratch directory.</summary>
public sealed class DefaultProxyFixture : IAsyncLifetime
{
    public TempDirectory Temp { get; } = new();

    public ProxyProcess Proxy { get; private set; } = null!;

    public McpClient Client => Proxy.Client!;

    public async Task InitializeAsync() => Proxy = await ProxyProcess.StartStdioAsync([]);

    public async Task DisposeAsync()
    {
        await Proxy.DisposeAsync();
        Temp.Dispose();
    }
}

/// <summary>Item 2: the manage tool cannot start programs by default; names, URLs and values are validated; no shell ever runs.</summary>
public sealed class ManageSecurityTests(DefaultProxyFixture fixture) : IClassFixture<DefaultProxyFixture>
{
    /// <summary>Ways a prompt could try to make the proxy run <c>touch FILE</c>.</summary>
    public static TheoryData<string, string[]?, string?> ShellAttempts => new()
    {
        { "sh", ["-c", "touch FILE"], null },
        { "/bin/sh", ["-c", "touch FILE"], null },
        { "sh -c 'touch FILE'", null, null },
        { "bash", ["-c", "touch FILE"], "stdio" },
        { "touch", ["FILE"], null },
        { "/usr/bin/env", ["sh", "-c", "touch FILE"], null },
        { "npx", ["-y", "some-package", "&&", "touch", "FILE"], null },
    };

    [Theory]
    [MemberData(nameof(ShellAttempts))]
    public async Task ManageAdd_ShellCommand_IsRefusedAndFileNeverAppears(string command, string[]? args, string? transport)
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        var file = fixture.Temp.Combine($"pwned-{Guid.NewGuid():N}");
        var arguments = new Dictionary<string, object?> { ["action"] = "add", ["name"] = "evil", ["command"] = command.Replace("FILE", file, StringComparison.Ordinal) };
        if (args is not null)
        {
            arguments["args"] = args.Select(a => a.Replace("FILE", file, StringComparison.Ordinal)).ToArray();
        }

        if (transport is not null)
        {
            arguments["transport"] = transport;
        }

        var result = await fixture.Client.CallToolAsync("manage", arguments, cancellationToken: cts.Token);

        Assert.True(result.IsError);
        var text = Text(result);
        Assert.Contains("--allow-stdio-add", text, StringComparison.Ordinal);
        Assert.Contains("allowedCommands", text, StringComparison.Ordinal);

        // Long enough for a started program to have run.
        await Task.Delay(TimeSpan.FromMilliseconds(500), cts.Token);
        Assert.False(File.Exists(file), $"{command} ran: {file} exists");
        var list = await fixture.Client.CallToolAsync("manage", Args(("action", "list")), cancellationToken: cts.Token);
        Assert.DoesNotContain("evil", Text(list), StringComparison.Ordinal);
    }

    public static TheoryData<string, object?, string> BadAdds => new()
    {
        { "name", "../etc", "not valid" },
        { "name", "a b", "not valid" },
        { "name", "x;rm -rf ~", "not valid" },
        { "name", "manage__x", "separator" },
        { "name", new string('a', 40), "not valid" },
        { "url", "javascript:alert(1)", "not a valid URL" },
        { "url", "file:///etc/passwd", "not a valid URL" },
        { "url", "ftp://127.0.0.1/mcp", "not a valid URL" },
        { "url", "not a url", "not a valid URL" },
        { "headers", new Dictionary<string, string> { ["X-Steal"] = "${env:HOME}" }, "${env:" },
        { "url", "http://127.0.0.1:1/mcp?key=${env:HOME}", "${env:" },
    };

    [Theory]
    [MemberData(nameof(BadAdds))]
    public async Task ManageAdd_BadNameUrlOrEnvPlaceholder_IsRefusedAndChangesNothing(string key, object? value, string expected)
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        var arguments = new Dictionary<string, object?> { ["action"] = "add", ["name"] = "ok-name", ["url"] = "http://127.0.0.1:1/mcp" };
        arguments[key] = value;

        var result = await fixture.Client.CallToolAsync("manage", arguments, cancellationToken: cts.Token);

        Assert.True(result.IsError, Text(result));
        Assert.Contains(expected, Text(result), StringComparison.Ordinal);
        var status = await fixture.Client.CallToolAsync("proxy_status", cancellationToken: cts.Token);
        Assert.Equal(0, status.StructuredContent!.Value.GetProperty("servers").GetArrayLength());
    }

    [Fact]
    public async Task ManageAdd_AllowedCommandsConfig_StartsOnlyThoseAndRefusesHooks()
    {
        using var cts = new CancellationTokenSource(TestTimeout * 2);
        using var temp = new TempDirectory();
        var config = temp.WriteFile("mcp.json", new JsonObject
        {
            ["mcpServers"] = new JsonObject(),
            ["proxy"] = new JsonObject { ["allowedCommands"] = new JsonArray(TestServerCommand.Command) },
        }.ToJsonString());
        await using var proxy = await ProxyProcess.StartStdioAsync(["--config", config], cancellationToken: cts.Token);
        var client = proxy.Client!;

        async Task<CallToolResult> AddAsync(string name, string command, Dictionary<string, string>? env = null, string? cwd = null) =>
            await client.CallToolAsync(
                "manage",
                new Dictionary<string, object?> { ["action"] = "add", ["name"] = name, ["command"] = command, ["args"] = TestServerCommand.Arguments("--name", name).ToArray(), ["env"] = env, ["cwd"] = cwd },
                cancellationToken: cts.Token);

        var hooked = await AddAsync("hooked", TestServerCommand.Command, env: new() { ["LD_PRELOAD"] = "/tmp/evil.so" });
        var moved = await AddAsync("moved", TestServerCommand.Command, cwd: temp.Path);
        var shell = await AddAsync("shell", "sh");
        var allowed = await AddAsync("allowed", TestServerCommand.Command);

        Assert.Contains("LD_PRELOAD", Text(hooked), StringComparison.Ordinal);
        Assert.Contains("cwd", Text(moved), StringComparison.Ordinal);
        Assert.Contains(TestServerCommand.Command, Text(shell), StringComparison.Ordinal);
        Assert.True(hooked.IsError == true && moved.IsError == true && shell.IsError == true);
        Assert.NotEqual(true, allowed.IsError);
        var echo = await client.CallToolAsync("allowed__echo", Args(("text", "hi")), cancellationToken: cts.Token);
        Assert.Equal("allowed: hi", Text(echo));
    }

    [Fact]
    public async Task StdioBackend_ShellMetacharactersInArguments_ArePassedLiterallyWithoutAShell()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        using var temp = new TempDirectory();
        const string PidFile = "pid $(touch PWNED1) `touch PWNED2`; touch PWNED3 | touch PWNED4 && touch PWNED5";
        var config = temp.WriteFile("mcp.json", new JsonObject
        {
            ["mcpServers"] = new JsonObject
            {
                ["literal"] = new JsonObject
                {
                    ["command"] = TestServerCommand.Command,
                    ["args"] = new JsonArray([.. TestServerCommand.Arguments("--name", "literal", "--pid-file", PidFile).Select(a => JsonValue.Create(a))]),
                    ["cwd"] = temp.Path,
                },
            },
        }.ToJsonString());
        await using var proxy = await ProxyProcess.StartStdioAsync(["--config", config], cancellationToken: cts.Token);

        var echo = await CallWhenReadyAsync(proxy.Client!, "literal__echo", cts.Token);

        Assert.Equal("literal: ready", Text(echo));
        Assert.True(File.Exists(temp.Combine(PidFile)), "the argument did not arrive as one literal file name");
        Assert.Empty(Directory.GetFiles(temp.Path, "PWNED*"));
    }

    /// <summary>Calls <paramref name="tool"/> with text 'ready' once the backend's tools are served.</summary>
    internal static async Task<CallToolResult> CallWhenReadyAsync(McpClient client, string tool, CancellationToken cancellationToken)
    {
        while (true)
        {
            var tools = await client.ListToolsAsync(cancellationToken: cancellationToken);
            if (tools.Any(t => t.Name == tool))
            {
                return await client.CallToolAsync(tool, Args(("text", "ready")), cancellationToken: cancellationToken);
            }

            await Task.Delay(100, cancellationToken);
        }
    }
}
