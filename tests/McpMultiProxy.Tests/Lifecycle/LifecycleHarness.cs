using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using McpMultiProxy.Tests.Infrastructure;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Xunit;

namespace McpMultiProxy.Tests.Lifecycle;

/// <summary>Config files with mcp-testserver backends, and small helpers to read the proxy's own tools.</summary>
internal sealed class LifecycleHarness : IDisposable
{
    public TempDirectory Directory { get; } = new();

    public string ConfigPath => Directory.Combine("mcp.json");

    /// <summary>A stdio backend running the test server with <paramref name="flags"/>.</summary>
    public static JsonObject Stdio(params string[] flags) => new()
    {
        ["command"] = TestServerCommand.Command,
        ["args"] = new JsonArray([.. TestServerCommand.Arguments(flags).Select(a => JsonValue.Create(a))]),
    };

    /// <summary>A stdio backend that spawns a grandchild and writes its pid to a file of this harness.</summary>
    public JsonObject StdioWithGrandchild(string name, params string[] flags) => Stdio([.. flags, "--name", name, "--spawn-child", "--pid-file", PidFile(name)]);

    public string PidFile(string name) => Directory.Combine($"{name}.pid");

    /// <summary>Writes the config file (servers and, optionally, the proxy section).</summary>
    public string WriteConfig(JsonObject servers, JsonObject? proxy = null)
    {
        var root = new JsonObject { ["mcpServers"] = servers };
        if (proxy is not null)
        {
            root["proxy"] = proxy;
        }

        File.WriteAllText(ConfigPath, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return ConfigPath;
    }

    /// <summary>Waits for a backend's pid file and for its grandchild: returns the backend pid (its process group).</summary>
    public async Task<int> WaitForBackendWithGrandchildAsync(string name)
    {
        var path = PidFile(name);
        var pid = 0;
        Assert.True(
            await ProcessTable.WaitUntilAsync(() => File.Exists(path) && int.TryParse(File.ReadAllText(path), NumberStyles.None, CultureInfo.InvariantCulture, out pid) && ProcessTable.LiveInGroup(pid).Count >= 2),
            $"backend '{name}' and its grandchild did not appear");
        return pid;
    }

    /// <summary>Waits for a backend's pid file (written by <c>--pid-file</c>) and returns the pid in it.</summary>
    public async Task<int> WaitForPidAsync(string name)
    {
        var path = PidFile(name);
        var pid = 0;
        Assert.True(
            await ProcessTable.WaitUntilAsync(() => File.Exists(path) && int.TryParse(File.ReadAllText(path), NumberStyles.None, CultureInfo.InvariantCulture, out pid)),
            $"backend '{name}' wrote no pid file");
        return pid;
    }

    /// <summary>Calls a tool of the proxy and returns its structured content.</summary>
    public static async Task<JsonElement> ToolAsync(McpClient client, string tool, params (string Name, object? Value)[] args)
    {
        var result = await client.CallToolAsync(tool, McpTestClient.Args(args), cancellationToken: new CancellationTokenSource(McpTestClient.TestTimeout).Token);
        Assert.False(result.IsError == true, $"{tool} failed: {string.Join(" ", result.Content.OfType<TextContentBlock>().Select(t => t.Text))}");
        return result.StructuredContent!.Value;
    }

    /// <summary>The <c>proxy_status</c> entry of one server.</summary>
    public static async Task<JsonElement> ServerStatusAsync(McpClient client, string name)
    {
        var status = await ToolAsync(client, "proxy_status");
        return status.GetProperty("servers").EnumerateArray().Single(s => s.GetProperty("name").GetString() == name);
    }

    /// <summary>Waits until <paramref name="condition"/> holds for the server's status.</summary>
    public static async Task<JsonElement> WaitForStatusAsync(McpClient client, string name, Func<JsonElement, bool> condition, TimeSpan? timeout = null)
    {
        JsonElement last = default;
        var ok = await WaitAsync(async () => condition(last = await ServerStatusAsync(client, name)), timeout);
        Assert.True(ok, $"status of '{name}' never matched: {last}");
        return last;
    }

    /// <summary>Polls an async condition (generous timeout: the machine may be busy).</summary>
    public static async Task<bool> WaitAsync(Func<Task<bool>> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? ProcessTable.GoneTimeout);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(100);
        }

        return true;
    }

    public void Dispose() => Directory.Dispose();
}
