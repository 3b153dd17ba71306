using McpMultiProxy.Routing;
using McpMultiProxy.Security;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Server;

namespace McpMultiProxy.Hosting;

/// <summary>Serves MCP on stdin/stdout for the one client that launched the proxy; when stdin closes, the proxy stops.</summary>
internal sealed partial class StdioFrontend(
    IOptions<McpServerOptions> options,
    ProxyStartup startup,
    ClientSessions clients,
    ILoggerFactory loggerFactory,
    IServiceProvider services,
    IHostApplicationLifetime lifetime) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var serverOptions = options.Value;
        // The SDK reads stdin line by line with no bound: a client's endless line is cut at the message limit.
        var logger = loggerFactory.CreateLogger<StdioFrontend>();
        var limit = startup.Config.Settings.Security.MaxMessageBytes;
        var input = new LineLengthLimitStream(Console.OpenStandardInput(), limit, dropped => LogLineCut(logger, limit, dropped));
        var transport = new StreamServerTransport(input, Console.OpenStandardOutput(), serverOptions.ServerInfo?.Name, loggerFactory);
        await using (var server = McpServer.Create(transport, serverOptions, loggerFactory, services))
        {
            await clients.RunAsync(server, stoppingToken).ConfigureAwait(false);
        }

        lifetime.StopApplication();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "stdio client: a message longer than {Limit} bytes was cut and dropped ({Dropped} bytes; proxy.maxMessageBytes)")]
    private static partial void LogLineCut(ILogger logger, long limit, long dropped);
}
