using McpMultiProxy.Routing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Server;

namespace McpMultiProxy.Hosting;

/// <summary>Serves MCP on stdin/stdout for the one client that launched the proxy; when stdin closes, the proxy stops.</summary>
internal sealed class StdioFrontend(
    IOptions<McpServerOptions> options,
    ClientSessions clients,
    ILoggerFactory loggerFactory,
    IServiceProvider services,
    IHostApplicationLifetime lifetime) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var serverOptions = options.Value;
        await using (var server = McpServer.Create(new StdioServerTransport(serverOptions, loggerFactory), serverOptions, loggerFactory, services))
        {
            clients.Add(server);
            try
            {
                await server.RunAsync(stoppingToken).ConfigureAwait(false);
            }
            finally
            {
                clients.Remove(server);
            }
        }

        lifetime.StopApplication();
    }
}
