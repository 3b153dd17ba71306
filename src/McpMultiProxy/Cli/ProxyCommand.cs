using System.CommandLine;
using McpMultiProxy.Configuration;
using McpMultiProxy.Hosting;
using Microsoft.Extensions.Logging;

namespace McpMultiProxy.Cli;

/// <summary>The root command: run the proxy.</summary>
internal static class ProxyCommand
{
    public const string DefaultHttpAddress = "127.0.0.1:8765";

    private const string Examples = """

        Examples:
          mcp-multiproxy --stdio --servers main=http://localhost:8000/mcp,backup=http://localhost:8001/mcp
          mcp-multiproxy --stdio --backend-url http://localhost:8000/mcp        (one server, the old flag)
          mcp-multiproxy --config mcp.json                                       (HTTP on 127.0.0.1:8765, /mcp)
          mcp-multiproxy --config mcp.json --stdio --http 127.0.0.1:8765         (both frontends at once)
          mcp-multiproxy --demo                                                  (two built-in demo servers)

        The config file uses the mcpServers format of Claude Desktop and Cursor; changes made with the
        'manage' tool are saved to it. Logs go to stderr (never stdout) and, with --log-file, to a file.
        HTTP listens on loopback only; --allow-remote opens it to the network, with a token from --token-file.
        """;

    public static RootCommand Create()
    {
        var stdio = new Option<bool>("--stdio") { Description = "Serve MCP on stdin/stdout (how Cursor and Claude Desktop launch a server)." };
        var http = new Option<string?>("--http")
        {
            Description = $"Serve streamable HTTP on ADDR (host:port; default {DefaultHttpAddress}). The MCP endpoint is /mcp. This is the default when --stdio is not given.",
            Arity = ArgumentArity.ZeroOrOne,
            HelpName = "ADDR",
        };
        var servers = new Option<string?>("--servers") { Description = "Servers as name=url,name=url (a bare url gets a generated name).", HelpName = "LIST" };
        var backendUrl = new Option<string?>("--backend-url") { Description = "One server by URL (kept for compatibility; same as --servers main=URL).", HelpName = "URL" };
        var config = new Option<string?>("--config") { Description = "Config file in the mcpServers format; created on the first change if missing.", HelpName = "FILE" };
        var logFile = new Option<string?>("--log-file") { Description = "Also write logs to this file.", HelpName = "PATH" };
        var logLevel = new Option<LogLevel>("--log-level") { Description = "Trace, Debug, Information, Warning, Error.", DefaultValueFactory = _ => LogLevel.Information };
        var demo = new Option<bool>("--demo") { Description = "Add two built-in demo servers (clock and notes), run as stdio children." };
        var allowStdioAdd = new Option<bool>("--allow-stdio-add") { Description = "Let the manage tool add servers that start programs (off by default)." };
        var allowRemote = new Option<bool>("--allow-remote") { Description = "Allow --http on an address other machines can reach (a bearer token is then required: --token-file)." };
        var tokenFile = new Option<string?>("--token-file")
        {
            Description = "Require 'Authorization: Bearer <token>' on HTTP, with the token read from PATH (created with a random token, mode 0600, when missing; never printed).",
            HelpName = "PATH",
        };
        var allowedOrigins = new Option<string?>("--allowed-origins") { Description = "Browser origins allowed besides loopback ones, comma separated (e.g. https://app.example.org).", HelpName = "LIST" };
        var allowedHosts = new Option<string?>("--allowed-hosts") { Description = "Host names the HTTP endpoint answers to besides localhost/127.0.0.1/[::1], comma separated.", HelpName = "LIST" };

        var root = new RootCommand("mcp-multiproxy: one MCP endpoint in front of many MCP servers." + Examples)
        {
            stdio, http, servers, backendUrl, config, logFile, logLevel, demo, allowStdioAdd, allowRemote, tokenFile, allowedOrigins, allowedHosts,
        };
        root.Subcommands.Add(DemoServerCommand.Create());

        root.SetAction(async (result, cancellationToken) =>
        {
            var options = new ProxyRunOptions
            {
                Stdio = result.GetValue(stdio),
                Http = result.GetResult(http) is null ? null : result.GetValue(http) ?? DefaultHttpAddress,
                Servers = result.GetValue(servers),
                BackendUrl = result.GetValue(backendUrl),
                ConfigPath = result.GetValue(config),
                LogFile = result.GetValue(logFile),
                LogLevel = result.GetValue(logLevel),
                Demo = result.GetValue(demo),
                AllowStdioAdd = result.GetValue(allowStdioAdd),
                AllowRemote = result.GetValue(allowRemote),
                TokenFile = result.GetValue(tokenFile),
                AllowedOrigins = result.GetValue(allowedOrigins),
                AllowedHosts = result.GetValue(allowedHosts),
            };

            try
            {
                return await ProxyHost.RunAsync(options, cancellationToken).ConfigureAwait(false);
            }
            catch (ConfigException ex)
            {
                await Console.Error.WriteLineAsync($"mcp-multiproxy: configuration error{(ex.Errors.Count > 1 ? "s" : "")}:").ConfigureAwait(false);
                foreach (var error in ex.Errors)
                {
                    await Console.Error.WriteLineAsync($"  {error}").ConfigureAwait(false);
                }

                return 2;
            }
        });
        return root;
    }
}

/// <summary>What the command line asked for.</summary>
internal sealed record ProxyRunOptions
{
    public bool Stdio { get; init; }

    public string? Http { get; init; }

    public string? Servers { get; init; }

    public string? BackendUrl { get; init; }

    public string? ConfigPath { get; init; }

    public string? LogFile { get; init; }

    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    public bool Demo { get; init; }

    public bool AllowStdioAdd { get; init; }

    /// <summary>HTTP may listen beyond loopback (with a token).</summary>
    public bool AllowRemote { get; init; }

    /// <summary>The bearer token file (overrides <c>proxy.tokenFile</c>).</summary>
    public string? TokenFile { get; init; }

    /// <summary>Extra allowed browser origins, comma separated.</summary>
    public string? AllowedOrigins { get; init; }

    /// <summary>Extra allowed Host names, comma separated.</summary>
    public string? AllowedHosts { get; init; }

    /// <summary>HTTP is served when asked for, or when stdio is not.</summary>
    public string? HttpAddress => Http ?? (Stdio ? null : ProxyCommand.DefaultHttpAddress);
}
