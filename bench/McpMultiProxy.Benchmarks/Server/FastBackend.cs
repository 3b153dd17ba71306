using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpMultiProxy.Benchmarks.Server;

/// <summary>
/// The benchmark's backend: a real SDK MCP server (stdio or streamable HTTP) that does as little as a server can:
/// low-level handlers, a prebuilt tool list, cached answers. Whatever time a call takes is the SDK and the
/// transport, the same for a direct call and one through the proxy, so the ratio isolates the proxy.
/// </summary>
internal static class FastBackend
{
    /// <summary>Tools every instance serves, the catalogue figures count on this.</summary>
    public const int ToolCount = 20;

    /// <summary>Printed on stdout in HTTP mode, followed by the endpoint URL.</summary>
    public const string ListeningMarker = "LISTENING ";

    private static readonly JsonElement TextSchema = JsonElement.Parse(
        """{"type":"object","properties":{"text":{"type":"string","description":"Text to echo."}},"required":["text"]}""");

    private static readonly JsonElement BigSchema = JsonElement.Parse(
        """{"type":"object","properties":{"kb":{"type":"integer","description":"Size of the answer in KiB."}},"required":["kb"]}""");

    private static readonly ConcurrentDictionary<int, CallToolResult> BigResults = new();

    /// <summary>Runs until stdin closes (stdio) or the process is stopped (HTTP).</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var http = args.Contains("--http");
        if (!http)
        {
            var options = CreateOptions();
            await using var transport = new StdioServerTransport("bench-backend");
            await using var server = McpServer.Create(transport, options);
            await server.RunAsync();
            return 0;
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddMcpServer(o => Fill(o)).WithHttpTransport(t => t.SessionMode = HttpServerSessionMode.Stateful);
        await using var app = builder.Build();
        app.MapMcp("/mcp");
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        await Console.Out.WriteLineAsync($"{ListeningMarker}http://127.0.0.1:{address.Port}/mcp");
        await Console.Out.FlushAsync();

        // Ends when the benchmark closes our stdin (or kills us by handle): never outlives its parent.
        _ = Task.Run(async () =>
        {
            await Console.In.ReadToEndAsync();
            await app.StopAsync();
        });
        await app.WaitForShutdownAsync();
        return 0;
    }

    /// <summary>The server's options: 20 tools (echo, big, filler_2 … filler_19), answered from memory.</summary>
    public static McpServerOptions CreateOptions() => Fill(new McpServerOptions());

    private static McpServerOptions Fill(McpServerOptions options)
    {
        List<Tool> tools =
        [
            new() { Name = "echo", Description = "Echoes 'text'.", InputSchema = TextSchema },
            new() { Name = "big", Description = "Answers 'kb' KiB of text.", InputSchema = BigSchema },
        ];
        for (var i = tools.Count; i < ToolCount; i++)
        {
            tools.Add(new Tool { Name = $"filler_{i}", Description = $"Filler tool {i}: echoes 'text'. It exists so that catalogues have a realistic size.", InputSchema = TextSchema });
        }

        var list = new ListToolsResult { Tools = tools };
        options.ServerInfo = new Implementation { Name = "bench-backend", Version = "1.0.0" };
        options.Capabilities = new ServerCapabilities { Tools = new ToolsCapability() };
        options.Handlers.ListToolsHandler = (_, _) => ValueTask.FromResult(list);
        options.Handlers.CallToolHandler = (request, _) => ValueTask.FromResult(Call(request.Params));
        return options;
    }

    private static CallToolResult Call(CallToolRequestParams? p)
    {
        if (p?.Name == "big")
        {
            var kb = p.Arguments?.TryGetValue("kb", out var v) == true && v.TryGetInt32(out var n) ? Math.Clamp(n, 0, 16 * 1024) : 1;
            return BigResults.GetOrAdd(kb, k => new CallToolResult { Content = [new TextContentBlock { Text = new string('x', k * 1024) }] });
        }

        var text = p?.Arguments?.TryGetValue("text", out var t) == true && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        return text is null
            ? throw new McpProtocolException($"unknown tool or missing 'text': {p?.Name}", McpErrorCode.InvalidParams)
            : new CallToolResult { Content = [new TextContentBlock { Text = text }] };
    }
}
