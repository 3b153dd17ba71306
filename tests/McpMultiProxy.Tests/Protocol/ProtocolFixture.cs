using System.Text.Json.Nodes;
using McpMultiProxy.Tests.Infrastructure;
using ModelContextProtocol.Client;
using Xunit;

namespace McpMultiProxy.Tests.Protocol;

/// <summary>
/// One proxy (HTTP frontend) in front of: the test server over stdio (<c>ts</c>) and over HTTP (<c>th</c>), a
/// per-client-session test server (<c>tp</c>), a test server with a 1 s timeout (<c>tt</c>) and, when installed,
/// server-everything over stdio (<c>ev</c>). Lists are served in pages of 7 so every client pages through them.
/// </summary>
public sealed class ProtocolFixture : IAsyncLifetime
{
    public const string Legacy = "2025-11-25";
    public const string Modern = "2026-07-28";

    private TempDirectory? _dir;

    public ProxyProcess Proxy { get; private set; } = null!;

    public TestServerProcess HttpBackend { get; private set; } = null!;

    public string ConfigPath { get; private set; } = "";

    public bool HasEverything => ServerEverything.MissingReason is null;

    public async Task InitializeAsync()
    {
        _dir = new TempDirectory();
        HttpBackend = await TestServerProcess.StartAsync("--name", "th");
        var servers = new JsonObject
        {
            ["ts"] = Stdio("--name", "ts"),
            ["th"] = new JsonObject { ["url"] = HttpBackend.Url.ToString() },
            ["tp"] = Stdio("--name", "tp"),
            ["tt"] = Stdio("--name", "tt"),
        };
        ((JsonObject)servers["tp"]!)["sessions"] = "per-client";
        ((JsonObject)servers["tt"]!)["timeoutSeconds"] = 2;
        if (HasEverything)
        {
            servers["ev"] = new JsonObject
            {
                ["command"] = ServerEverything.Command,
                ["args"] = new JsonArray([.. ServerEverything.StdioArguments.Select(a => JsonValue.Create(a))]),
            };
        }

        ConfigPath = Path.Combine(_dir.Path, "mcp.json");
        await File.WriteAllTextAsync(ConfigPath, new JsonObject { ["mcpServers"] = servers, ["proxy"] = new JsonObject { ["pageSize"] = 7 } }.ToJsonString());
        Proxy = await ProxyProcess.StartHttpAsync(["--config", ConfigPath, "--log-level", "Debug"]);

        // Wait until every backend is in the catalog.
        await using var client = await Proxy.ConnectAsync();
        var expected = HasEverything ? 5 : 4;
        for (var i = 0; i < 300; i++)
        {
            var tools = await client.ListToolsAsync();
            var ready = tools.Select(t => t.Name.Split("__")[0]).Where(p => p is "ts" or "th" or "tp" or "tt" or "ev").Distinct().Count();
            if (ready == expected)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new InvalidOperationException("The backends did not all become ready:\n" + string.Join('\n', Proxy.StderrLines.TakeLast(40)));
    }

    public Task<McpClient> ConnectAsync(string protocolVersion, McpClientOptions? options = null)
    {
        options ??= new McpClientOptions();
        options.ProtocolVersion = protocolVersion;
        return Proxy.ConnectAsync(options);
    }

    public async Task DisposeAsync()
    {
        // Kept for whoever has to read why a test failed.
        await File.WriteAllLinesAsync(Path.Combine(Path.GetTempPath(), "mcp-multiproxy-protocol-tests.log"), Proxy.StderrLines);
        await Proxy.DisposeAsync();
        await HttpBackend.DisposeAsync();
        _dir?.Dispose();
    }

    private static JsonObject Stdio(params string[] flags) => new()
    {
        ["command"] = TestServerCommand.Command,
        ["args"] = new JsonArray([.. TestServerCommand.Arguments(flags).Select(a => JsonValue.Create(a))]),
    };
}
