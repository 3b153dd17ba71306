using System.Text.Json.Nodes;

namespace McpMultiProxy.Security;

/// <summary>Validates the security keys of the <c>proxy</c> section and writes them back (only those that differ from the defaults).</summary>
public static class SecurityConfig
{
    /// <summary>Smallest <c>maxMessageBytes</c> that still fits an ordinary request.</summary>
    public const long MinMessageBytes = 16 * 1024;

    /// <summary>Problems with the settings, each naming the key and how to fix it.</summary>
    public static IEnumerable<string> Validate(SecuritySettings settings)
    {
        if (settings.MaxMessageBytes < MinMessageBytes)
        {
            yield return $"proxy.maxMessageBytes must be at least {MinMessageBytes} (the default is {SecuritySettings.DefaultMaxMessageBytes}).";
        }

        if (settings.MaxBackendMessageBytes < MinMessageBytes)
        {
            yield return $"proxy.maxBackendMessageBytes must be at least {MinMessageBytes} (the default is {SecuritySettings.DefaultMaxBackendMessageBytes}).";
        }

        if (settings.MaxJsonDepth is < 8 or > 1000)
        {
            yield return $"proxy.maxJsonDepth must be from 8 to 1000 (the default is {SecuritySettings.DefaultMaxJsonDepth}).";
        }

        foreach (var origin in settings.AllowedOrigins)
        {
            if (OriginPolicy.Normalize(origin) is null)
            {
                yield return $"proxy.allowedOrigins: '{origin}' is not an origin; write it as scheme://host or scheme://host:port, like https://app.example.org.";
            }
        }

        foreach (var host in settings.AllowedHosts)
        {
            if (string.IsNullOrWhiteSpace(host) || host.Contains('/', StringComparison.Ordinal) || host == "*")
            {
                yield return $"proxy.allowedHosts: '{host}' is not a host name; write it like gateway.example.org or *.example.org ('*' alone would undo DNS-rebinding protection).";
            }
        }

        foreach (var command in settings.AllowedCommands)
        {
            if (string.IsNullOrWhiteSpace(command) || command.Any(char.IsWhiteSpace))
            {
                yield return $"proxy.allowedCommands: '{command}' is not a command; list program names or paths only, like \"npx\" (arguments are given with each server).";
            }
        }

        if (settings.TokenFile is { } file && string.IsNullOrWhiteSpace(file))
        {
            yield return "proxy.tokenFile must be a file path.";
        }
    }

    /// <summary>Adds the keys whose values differ from the defaults to a <c>proxy</c> object.</summary>
    public static void Write(JsonObject proxy, SecuritySettings s)
    {
        var d = SecuritySettings.Default;
        if (!s.AllowedCommands.IsDefaultOrEmpty)
        {
            proxy["allowedCommands"] = Array(s.AllowedCommands);
        }

        if (s.PinTools)
        {
            proxy["pinTools"] = true;
        }

        if (!s.AllowedOrigins.IsDefaultOrEmpty)
        {
            proxy["allowedOrigins"] = Array(s.AllowedOrigins);
        }

        if (!s.AllowedHosts.IsDefaultOrEmpty)
        {
            proxy["allowedHosts"] = Array(s.AllowedHosts);
        }

        if (s.TokenFile is not null)
        {
            proxy["tokenFile"] = s.TokenFile;
        }

        if (s.MaxMessageBytes != d.MaxMessageBytes)
        {
            proxy["maxMessageBytes"] = s.MaxMessageBytes;
        }

        if (s.MaxBackendMessageBytes != d.MaxBackendMessageBytes)
        {
            proxy["maxBackendMessageBytes"] = s.MaxBackendMessageBytes;
        }

        if (s.MaxJsonDepth != d.MaxJsonDepth)
        {
            proxy["maxJsonDepth"] = s.MaxJsonDepth;
        }
    }

    private static JsonArray Array(IEnumerable<string> values) => new([.. values.Select(v => JsonValue.Create(v))]);
}
