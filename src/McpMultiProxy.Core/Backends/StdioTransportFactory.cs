using McpMultiProxy.Backends.Processes;
using McpMultiProxy.Configuration;
using McpMultiProxy.Security;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;

namespace McpMultiProxy.Backends;

/// <summary>
/// Starts a backend as a child process. The child gets a minimal environment (PATH, HOME and the like,
/// plus what its config declares), never the proxy's own variables and secrets. On Unix it runs in a process
/// group of its own, stopped as a whole (<see cref="ChildProcessTransport"/>); on Windows the SDK's transport is used.
/// </summary>
internal sealed partial class StdioTransportFactory(ProcessGroupWatchdog? watchdog = null, ProcessStopTimes? stopTimes = null, long maxLineBytes = SecuritySettings.DefaultMaxBackendMessageBytes)
    : IBackendTransportFactory
{
    // Beyond the SDK's default set: what .NET and Node children need to start at all.
    private static readonly string[] ExtraInherited = ["DOTNET_ROOT", "DOTNET_CLI_HOME", "TMPDIR", "LANG", "LC_ALL", "XDG_RUNTIME_DIR", "NODE_PATH"];

    public bool Handles(BackendTransport transport) => transport == BackendTransport.Stdio;

    public IClientTransport Create(BackendConfig config, int replica, ILoggerFactory loggerFactory)
    {
        var env = StdioClientTransportOptions.GetDefaultEnvironmentVariables();
        foreach (var variable in ExtraInherited)
        {
            if (Environment.GetEnvironmentVariable(variable) is { } value && !env.ContainsKey(variable))
            {
                env[variable] = value;
            }
        }

        foreach (var (key, value) in EnvExpander.ExpandAll(config.Env, $"server '{config.Name}' env"))
        {
            env[key] = value;
        }

        var logger = loggerFactory.CreateLogger("McpMultiProxy.Backends.Stderr");
        var name = config.Name;
        if (!OperatingSystem.IsWindows())
        {
            var launch = new ProcessLaunch(config.Name, config.Command!, [.. config.Args], env.Where(e => e.Value is not null).ToDictionary(e => e.Key, e => e.Value!), config.Cwd);
            return new ChildProcessTransport(launch, watchdog, stopTimes ?? ProcessStopTimes.Default, loggerFactory, line => LogStderr(logger, name, line), maxLineBytes);
        }

        return new StdioClientTransport(
            new StdioClientTransportOptions
            {
                Name = config.Name,
                Command = config.Command!,
                Arguments = [.. config.Args],
                WorkingDirectory = config.Cwd,
                InheritEnvironmentVariables = false,
                EnvironmentVariables = env,
                ShutdownTimeout = TimeSpan.FromSeconds(3),
                StandardErrorLines = line => LogStderr(logger, name, line),
            },
            loggerFactory);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Backend} stderr: {Line}")]
    private static partial void LogStderr(ILogger logger, string backend, string line);
}
