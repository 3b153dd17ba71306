using System.CommandLine;
using McpMultiProxy.Demo;

namespace McpMultiProxy.Cli;

/// <summary><c>mcp-multiproxy demo-server clock|notes</c>: a small MCP server on stdio, used by <c>--demo</c>.</summary>
internal static class DemoServerCommand
{
    public static Command Create()
    {
        var kind = new Argument<string>("kind") { Description = "clock or notes" };
        kind.AcceptOnlyFromAmong("clock", "notes");
        var command = new Command("demo-server", "Run a built-in demo MCP server on stdio (clock or notes).") { kind };
        command.Hidden = true;
        command.SetAction((result, cancellationToken) => DemoServers.RunAsync(result.GetValue(kind)!, cancellationToken));
        return command;
    }
}
