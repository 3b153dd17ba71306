using McpMultiProxy.Configuration;

namespace McpMultiProxy.Security;

/// <summary>
/// What <c>manage add</c> (a request that may come from a prompt-injected model) may add. Starting a program
/// needs the operator's opt-in; even then nothing the model sends may reach the proxy's environment or
/// hook a program's loader or interpreter.
/// </summary>
public static class ManageAddPolicy
{
    /// <summary>
    /// Environment variables that make a program run other code (loader and interpreter hooks, search paths):
    /// set by a model, they would turn an allowed command into any command.
    /// </summary>
    private static readonly string[] InjectionVariables =
    [
        "PATH", "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "NODE_OPTIONS", "NODE_PATH", "PYTHONPATH", "PYTHONSTARTUP",
        "PYTHONHOME", "PYTHONUSERBASE", "PERL5OPT", "PERL5LIB", "PERLLIB", "RUBYOPT", "RUBYLIB", "BASH_ENV", "ENV", "SHELLOPTS",
        "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "DOTNET_STARTUP_HOOKS", "CORECLR_PROFILER", "CORECLR_ENABLE_PROFILING",
        "GIT_SSH_COMMAND", "GIT_EXEC_PATH", "HOME", "XDG_CONFIG_HOME", "UV_INDEX_URL", "PIP_INDEX_URL", "NPM_CONFIG_REGISTRY",
    ];

    private static readonly string[] InjectionPrefixes = ["LD_", "DYLD_", "NPM_CONFIG_", "UV_", "PIP_", "COMPlus_", "DOTNET_"];

    /// <summary>Why <paramref name="config"/> may not be added through <c>manage</c>, or null when it may.</summary>
    public static string? Check(BackendConfig config, ProxySettings settings)
    {
        if (Placeholder(config) is { } where)
        {
            return $"manage add: {where} uses ${{env:...}}. Values given through the manage tool may not read the proxy's environment " +
                "(that would let a prompt send your secrets to any server). Put a server that needs secrets from the environment in the config file, or give the value itself.";
        }

        if (config.Transport != BackendTransport.Stdio)
        {
            return null;
        }

        var command = config.Command ?? "";
        var allowed = settings.AllowStdioAdd || settings.Security.AllowedCommands.Contains(command, StringComparer.Ordinal);
        if (!allowed)
        {
            var list = settings.Security.AllowedCommands.IsDefaultOrEmpty ? "" : $" The commands allowed now are: {string.Join(", ", settings.Security.AllowedCommands)}.";
            return "manage add: starting programs through the manage tool is turned off, so that a prompt cannot make the proxy run commands." + list +
                " An operator can allow some commands with \"proxy\": { \"allowedCommands\": [\"npx\", \"uvx\"] } in the config file, " +
                "allow any with the --allow-stdio-add flag or \"proxy\": { \"allowStdioAdd\": true }, or add the server to the config file directly.";
        }

        foreach (var key in config.Env.Keys)
        {
            if (InjectionVariables.Contains(key, StringComparer.OrdinalIgnoreCase) || InjectionPrefixes.Any(p => key.StartsWith(p, StringComparison.OrdinalIgnoreCase)))
            {
                return $"manage add: env '{key}' may not be set through the manage tool: it can make the program run other code. Set it in the config file if it is really needed.";
            }
        }

        if (!settings.AllowStdioAdd && config.Cwd is not null)
        {
            return $"manage add: 'cwd' may not be set for an allowed command ('{command}'): a working directory can make it run other code (e.g. npx picks up node_modules/.bin there). Set it in the config file.";
        }

        return null;
    }

    private static string? Placeholder(BackendConfig config)
    {
        static bool Has(string? value) => value is not null && value.Contains("${", StringComparison.Ordinal);

        if (config.Env.FirstOrDefault(kv => Has(kv.Value)) is { Key: { } envKey })
        {
            return $"env '{envKey}'";
        }

        if (config.Headers.FirstOrDefault(kv => Has(kv.Value)) is { Key: { } headerKey })
        {
            return $"header '{headerKey}'";
        }

        if (config.Args.Any(Has) || Has(config.Command) || Has(config.Cwd) || config.Urls.Any(Has))
        {
            return "a command, argument, directory or URL";
        }

        return null;
    }
}
