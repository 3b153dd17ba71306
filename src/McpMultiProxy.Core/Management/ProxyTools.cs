using System.Text.Json;
using ModelContextProtocol.Protocol;

namespace McpMultiProxy.Management;

/// <summary>The definitions of the proxy's own tools: <c>manage</c>, <c>proxy_status</c>, <c>proxy_health</c>.</summary>
public static class ProxyTools
{
    /// <summary>Name of the management tool.</summary>
    public const string Manage = "manage";

    /// <summary>Name of the status tool.</summary>
    public const string Status = "proxy_status";

    /// <summary>Name of the health overview tool.</summary>
    public const string Health = "proxy_health";

    /// <summary>The three tool definitions, in the order served.</summary>
    public static IReadOnlyList<Tool> Definitions { get; } =
    [
        new Tool
        {
            Name = Manage,
            Title = "Manage proxied MCP servers",
            Description =
                "Manage the MCP servers behind this proxy. action: 'list' (all servers with status), 'add' (name + url of an HTTP MCP server; " +
                "command/args/env only if the operator allowed it), 'remove', 'enable', 'disable' (need name), 'health' (checks one server now, " +
                "or all when name is omitted or 'all'), 'approve' (name + optional tool: serve again a pinned tool whose definition changed; " +
                "only on the operator's word). Changes take effect at once and are saved to the config file when one is used.",
            InputSchema = Schema("""
                {
                  "type": "object",
                  "properties": {
                    "action": { "type": "string", "enum": ["add", "remove", "list", "enable", "disable", "health", "approve"], "description": "What to do." },
                    "name": { "type": "string", "description": "Server name (letters, digits, '-', '_'). For health, 'all' or omitted checks every server." },
                    "url": { "type": "string", "description": "add: the server's MCP endpoint, e.g. http://127.0.0.1:8000/mcp." },
                    "urls": { "type": "array", "items": { "type": "string" }, "description": "add: several endpoints serving the same tools (replicas, load balanced)." },
                    "transport": { "type": "string", "enum": ["http", "sse", "stdio"], "description": "add: how to reach it; inferred when omitted." },
                    "headers": { "type": "object", "additionalProperties": { "type": "string" }, "description": "add: HTTP headers; use ${env:NAME} for secrets." },
                    "command": { "type": "string", "description": "add: program to start as a stdio server (only when the operator allowed it)." },
                    "args": { "type": "array", "items": { "type": "string" }, "description": "add: arguments of the command." },
                    "env": { "type": "object", "additionalProperties": { "type": "string" }, "description": "add: environment of the command." },
                    "cwd": { "type": "string", "description": "add: working directory of the command." },
                    "tool": { "type": "string", "description": "approve: the tool (its name at the server) whose changed definition to approve; all of the server's when omitted." }
                  },
                  "required": ["action"],
                  "additionalProperties": false
                }
                """),
            Annotations = new ToolAnnotations { Title = "Manage proxied MCP servers", DestructiveHint = true, OpenWorldHint = false },
        },
        new Tool
        {
            Name = Status,
            Title = "Status of every proxied MCP server",
            Description = "Every server behind the proxy with transport, target, enabled, health, tool count, calls, errors, response times and last error. Optional name to show one.",
            InputSchema = Schema("""
                {
                  "type": "object",
                  "properties": { "name": { "type": "string", "description": "Show only this server." } },
                  "additionalProperties": false
                }
                """),
            Annotations = new ToolAnnotations { ReadOnlyHint = true, OpenWorldHint = false },
        },
        new Tool
        {
            Name = Health,
            Title = "Health overview of the proxied MCP servers",
            Description = "A short overview: how many servers are healthy, and one line per server.",
            InputSchema = Schema("""{ "type": "object", "properties": {}, "additionalProperties": false }"""),
            Annotations = new ToolAnnotations { ReadOnlyHint = true, OpenWorldHint = false },
        },
    ];

    private static JsonElement Schema(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
