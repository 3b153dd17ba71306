using System.Text.Json;
using System.Text.Json.Nodes;
using McpMultiProxy.Tests.Infrastructure;

namespace McpMultiProxy.Tests.Integration;

/// <summary>Config files in the <c>mcpServers</c> format, as a user would write them.</summary>
internal static class TestConfig
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Proxy settings that make the health monitor notice a dead backend within seconds, not the default 30 s.</summary>
    public static JsonObject FastHealth() => new() { ["healthIntervalSeconds"] = 1, ["healthTimeoutSeconds"] = 2 };

    /// <summary>An HTTP server entry.</summary>
    public static JsonObject Http(Uri url) => new() { ["url"] = url.ToString() };

    /// <summary>A stdio server entry.</summary>
    public static JsonObject Stdio(string command, IEnumerable<string> args) =>
        new() { ["command"] = command, ["args"] = new JsonArray([.. args.Select(a => JsonValue.Create(a))]) };

    /// <summary>mcp-testserver as a stdio server entry.</summary>
    public static JsonObject TestServerStdio(params string[] flags) => Stdio(TestServerCommand.Command, TestServerCommand.Arguments(flags));

    /// <summary>Writes <c>{"mcpServers": servers, "proxy": proxy}</c> to mcp.json in <paramref name="directory"/>; returns its path.</summary>
    public static string Write(TempDirectory directory, JsonObject servers, JsonObject? proxy = null, string fileName = "mcp.json")
    {
        var root = new JsonObject { ["mcpServers"] = servers };
        if (proxy is not null)
        {
            root["proxy"] = proxy;
        }

        return directory.WriteFile(fileName, root.ToJsonString(Indented) + "\n");
    }

    /// <summary>The saved config's servers, parsed.</summary>
    public static JsonObject ReadServers(string path) =>
        JsonNode.Parse(File.ReadAllText(path))!["mcpServers"]!.AsObject();
}
