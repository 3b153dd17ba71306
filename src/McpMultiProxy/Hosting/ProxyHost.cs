using System.Net;
using System.Reflection;
using McpMultiProxy.Admin;
using McpMultiProxy.Catalog;
using McpMultiProxy.Cli;
using McpMultiProxy.Configuration;
using McpMultiProxy.Management;
using McpMultiProxy.Routing;
using McpMultiProxy.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Server;

namespace McpMultiProxy.Hosting;

/// <summary>Composes the proxy: engine, frontends (stdio and/or HTTP), logging; runs it until stopped.</summary>
internal static class ProxyHost
{
    public static async Task<int> RunAsync(ProxyRunOptions options, CancellationToken cancellationToken)
    {
        var startup = BuildStartup(options);
        var httpAddress = options.HttpAddress;
        IHost host;
        var clientHint = "";
        if (httpAddress is not null)
        {
            var address = ListenAddress.Parse(httpAddress);
            var policy = FrontDoor.CreatePolicy(address, options, startup.Config.Settings.Security, out var tokenCreated, out var tokenWarning);
            clientHint = FrontDoor.ClientHint(policy);
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.ConfigureKestrel(k =>
            {
                address.Listen(k);
                FrontDoor.ConfigureLimits(k, policy);
            });
            Compose(builder, startup, options, prometheus: true, addTransport: services => services.AddMcpServer().WithHttpTransport(t =>
            {
                t.SessionMode = HttpServerSessionMode.StatefulForInitializeClients;
                t.IdleTimeout = TimeSpan.FromMinutes(30);
                t.MaxIdleSessionCount = 1000;
                t.RunSessionHandler = RunHttpSessionAsync;
            }));
            var app = builder.Build();

            // First in the pipeline: everything on this listener (MCP, admin API, console, metrics) is behind it.
            app.UseFrontDoor(policy, address, tokenCreated, tokenWarning);
            app.MapMcp(FrontDoorPolicy.McpPath);
            app.MapAdminApi();
            app.MapWebConsole();
            app.MapPrometheusScrapingEndpoint();
            host = app;
        }
        else
        {
            var builder = Host.CreateApplicationBuilder();
            Compose(builder, startup, options, prometheus: false, addTransport: null);
            host = builder.Build();
        }

        await using ((IAsyncDisposable)host)
        {
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
            PrintWelcome(host, options, startup, clientHint);
            await host.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
        }

        return 0;
    }

    /// <summary>What both frontends' hosts are made of: logging, the engine, the MCP transport (HTTP only), server options, metrics.</summary>
    private static void Compose(IHostApplicationBuilder builder, ProxyStartup startup, ProxyRunOptions options, bool prometheus, Action<IServiceCollection>? addTransport)
    {
        ConfigureLogging(builder.Logging, options);
        AddServices(builder.Services, startup, options);
        addTransport?.Invoke(builder.Services);
        ConfigureServerOptions(builder.Services);
        builder.Services.AddProxyObservability(prometheus);
    }

    /// <summary>Reads the config file and the command line into the starting configuration.</summary>
    internal static ProxyStartup BuildStartup(ProxyRunOptions options)
    {
        var config = ProxyConfig.Empty;
        IConfigStore store = new NoConfigStore();
        if (options.ConfigPath is { } path)
        {
            config = File.Exists(path) ? ConfigParser.LoadFile(path) : ProxyConfig.Empty;
            store = new FileConfigStore(path) { SavedAllowStdioAdd = options.AllowStdioAdd ? config.Settings.AllowStdioAdd : null };
        }

        // --allow-stdio-add wins over the file, at start and at every reload.
        Func<ProxyConfig, ProxyConfig> overrides = options.AllowStdioAdd ? c => c with { Settings = c.Settings with { AllowStdioAdd = true } } : c => c;
        config = overrides(config);

        var extra = new List<BackendConfig>();
        if (options.Servers is { } servers)
        {
            extra.AddRange(ServersArgument.Parse(servers, config.Settings));
        }

        if (options.BackendUrl is { } url)
        {
            extra.AddRange(ServersArgument.Parse($"main={url}", config.Settings));
        }

        if (options.Demo)
        {
            extra.Add(DemoBackend("clock", "Built-in demo: tells the time."));
            extra.Add(DemoBackend("notes", "Built-in demo: keeps notes in memory."));
        }

        var clashes = extra.GroupBy(s => s.Name).Where(g => g.Count() > 1 || config.Find(g.Key) is not null).Select(g => g.Key).ToList();
        if (clashes.Count > 0)
        {
            throw new ConfigException(clashes.Select(n => $"server name '{n}' is given more than once (command line and/or config file); give each server a unique name.").ToList());
        }

        return new ProxyStartup(config with { Servers = [.. config.Servers, .. extra] }, [.. extra.Select(s => s.Name)], store)
        {
            ReloadOverrides = overrides,
        };
    }

    private static BackendConfig DemoBackend(string kind, string description)
    {
        var (command, prefix) = SelfCommand();
        return new BackendConfig
        {
            Name = kind,
            Transport = BackendTransport.Stdio,
            Command = command,
            Args = [.. prefix, "demo-server", kind],
            Description = description,
        };
    }

    /// <summary>How to start this same program again: the apphost, or <c>dotnet</c> with this assembly.</summary>
    internal static (string Command, string[] Prefix) SelfCommand()
    {
        var process = Environment.ProcessPath ?? "dotnet";
        // Not Assembly.Location: it is empty in a NativeAOT build (where the process is the program itself anyway).
        var entry = Path.Combine(AppContext.BaseDirectory, $"{typeof(ProxyHost).Assembly.GetName().Name}.dll");
        return Path.GetFileNameWithoutExtension(process) == "dotnet" && File.Exists(entry) ? (process, [entry]) : (process, []);
    }

    private static void AddServices(IServiceCollection services, ProxyStartup startup, ProxyRunOptions options)
    {
        services.AddMultiProxyCore(startup);
        if (options.Stdio)
        {
            services.AddHostedService<StdioFrontend>();
        }

        services.AddHostedService<Memory.IdleTrimmer>();

        // Room for the drain (proxy.shutdownGraceSeconds) and then for every backend's stop (stdin, TERM, KILL).
        services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(startup.Config.Settings.ShutdownGraceSeconds + 15));
    }

    private static void ConfigureServerOptions(IServiceCollection services)
    {
        services.AddOptions<McpServerOptions>().Configure<ProxyHandlers, ProxyCatalog, BackendRegistry, ClientSessions>(ProxyServerOptions.Configure);
        services.AddOptions<McpServerOptions>().Configure<SecretValues>(SafeLogging.ScrubOutgoingErrors);
    }

    private static Task RunHttpSessionAsync(Microsoft.AspNetCore.Http.HttpContext context, McpServer server, CancellationToken cancellationToken) =>
        context.RequestServices.GetRequiredService<ClientSessions>().RunAsync(server, cancellationToken);

    private static void ConfigureLogging(ILoggingBuilder logging, ProxyRunOptions options)
    {
        logging.ClearProviders();

        // stdout is the MCP channel in stdio mode: every log line goes to stderr.
        logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        logging.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        if (options.LogFile is { } file)
        {
            logging.AddProvider(new FileLoggerProvider(file));
        }

        logging.SetMinimumLevel(options.LogLevel);
        var frameworkLevel = options.LogLevel <= LogLevel.Debug ? options.LogLevel : LogLevel.Warning;
        logging.AddFilter("Microsoft", frameworkLevel);
        logging.AddFilter("ModelContextProtocol", frameworkLevel);
        logging.AddFilter("System.Net.Http", frameworkLevel);

        // Last: wraps every provider above, so that no line at any level carries a known secret or runs on without end.
        logging.AddSafeLogging();
    }

    private static void PrintWelcome(IHost host, ProxyRunOptions options, ProxyStartup startup, string clientHint)
    {
        var error = Console.Error;
        var server = host.Services.GetService<IServer>();
        var addresses = server?.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        foreach (var address in addresses)
        {
            var endpoint = address.Replace("[::1]", "localhost", StringComparison.Ordinal).TrimEnd('/') + FrontDoorPolicy.McpPath;
            error.WriteLine($"MCP endpoint: {endpoint}");
            error.WriteLine($"Web console: {endpoint[..^FrontDoorPolicy.McpPath.Length]}/  (admin API: /api, metrics: /metrics)");
        }

        if (options.Stdio)
        {
            error.WriteLine("Serving MCP on stdin/stdout.");
        }

        error.WriteLine($"{startup.Config.Servers.Count} server(s): {(startup.Config.Servers.Count == 0 ? "none yet (add some with the manage tool or a config file)" : string.Join(", ", startup.Config.Servers.Select(s => s.Name)))}");
        if (addresses.FirstOrDefault() is { } first)
        {
            var url = first.TrimEnd('/') + FrontDoorPolicy.McpPath;
            error.WriteLine($$"""
                To use it from Cursor, Claude Desktop or VS Code, add this to your MCP config (mcpServers):
                  { "mcpServers": { "multiproxy": { "url": "{{url}}" } } }
                (VS Code: { "servers": { "multiproxy": { "type": "http", "url": "{{url}}" } } })
                """);
            if (clientHint.Length > 0)
            {
                error.WriteLine(clientHint);
            }

            error.WriteLine("Press Ctrl+C to stop.");
        }
    }
}
