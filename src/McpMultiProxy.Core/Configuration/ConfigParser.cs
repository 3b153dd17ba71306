using System.Collections.Immutable;
using System.Text;
using System.Text.Json;

namespace McpMultiProxy.Configuration;

/// <summary>
/// Reads the <c>mcpServers</c> config format (Claude Desktop, Cursor; VS Code's <c>servers</c> too) and
/// validates all of it, reporting every problem at once with file, line and key.
/// </summary>
public static class ConfigParser
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip };

    private static readonly string[] ServerKeys =
    [
        "command", "args", "env", "cwd", "url", "urls", "headers", "type", "transport", "enabled", "disabled",
        "loadBalancing", "timeoutSeconds", "timeout", "tools", "prompts", "resources", "protocolVersion", "description", "sessions",
        "pinTools",
    ];

    private static readonly string[] ProxyKeys =
    [
        "separator", "prefix", "healthIntervalSeconds", "healthTimeoutSeconds", "callTimeoutSeconds", "maxCallTimeoutSeconds",
        "connectTimeoutSeconds", "allowStdioAdd", "backendProtocolVersion", "pageSize", "withdrawGraceSeconds", "shutdownGraceSeconds",
        "allowedCommands", "pinTools", "allowedOrigins", "allowedHosts", "tokenFile", "maxMessageBytes", "maxBackendMessageBytes", "maxJsonDepth",
    ];

    /// <summary>Reads and validates a config file; throws <see cref="ConfigException"/> listing every problem.</summary>
    public static ProxyConfig LoadFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"{path}: cannot read the config file: {ex.Message}");
        }

        return Parse(text, path);
    }

    /// <summary>Parses and validates config text; <paramref name="source"/> names it in errors.</summary>
    public static ProxyConfig Parse(string text, string source)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return ProxyConfig.Empty;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text, DocumentOptions);
        }
        catch (JsonException ex)
        {
            var line = (ex.LineNumber ?? 0) + 1;
            var message = ex.Message.Split(" Path:", 2)[0].Split(" LineNumber:", 2)[0];
            throw new ConfigException($"{source}:{line}: the file is not valid JSON: {message} Fix the syntax at that line (a missing comma or quote is the usual cause).");
        }

        using (document)
        {
            var lines = new LineIndex(text);
            var errors = new List<string>();
            var config = Read(document.RootElement, source, lines, errors);
            if (errors.Count > 0)
            {
                throw new ConfigException(errors);
            }

            return config;
        }
    }

    private static ProxyConfig Read(JsonElement root, string source, LineIndex lines, List<string> errors)
    {
        void Error(string path, string message) => errors.Add($"{source}:{lines.LineOf(path)}: {message}");

        if (root.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"{source}:1: the config must be a JSON object like {{\"mcpServers\": {{...}}}}.");
            return ProxyConfig.Empty;
        }

        var servers = new List<BackendConfig>();
        var settings = ProxySettings.Default;
        foreach (var top in root.EnumerateObject())
        {
            switch (top.Name)
            {
                case "mcpServers" or "servers":
                    if (top.Value.ValueKind != JsonValueKind.Object)
                    {
                        Error(top.Name, $"'{top.Name}' must be an object mapping server names to their settings.");
                        break;
                    }

                    foreach (var server in top.Value.EnumerateObject())
                    {
                        if (servers.Any(s => s.Name == server.Name))
                        {
                            Error($"{top.Name}.{server.Name}", $"server '{server.Name}' is defined twice; give each server a unique name.");
                            continue;
                        }

                        if (ReadServer(server.Name, server.Value, $"{top.Name}.{server.Name}", Error) is { } backend)
                        {
                            servers.Add(backend);
                        }
                    }

                    break;
                case "proxy":
                    settings = ReadSettings(top.Value, Error);
                    break;
                case "$schema" or "inputs":
                    break;
                default:
                    Error(top.Name, $"unknown key '{top.Name}'. The top level takes 'mcpServers' (or 'servers') and 'proxy'.");
                    break;
            }
        }

        foreach (var backend in servers)
        {
            foreach (var problem in ConfigValidator.Validate(backend, settings))
            {
                errors.Add($"{source}:{lines.LineOf($"mcpServers.{backend.Name}", $"servers.{backend.Name}")}: {problem}");
            }
        }

        return new ProxyConfig(servers, settings);
    }

    private static BackendConfig? ReadServer(string name, JsonElement element, string path, Action<string, string> error)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            error(path, $"server '{name}' must be an object with 'command' (a program to start) or 'url'.");
            return null;
        }

        var backend = new BackendConfig { Name = name };
        string? type = null;
        foreach (var p in element.EnumerateObject())
        {
            var at = $"{path}.{p.Name}";
            switch (p.Name)
            {
                case "command": backend = backend with { Command = String(p, at, error) }; break;
                case "args": backend = backend with { Args = StringArray(p, at, error) }; break;
                case "env": backend = backend with { Env = StringMap(p, at, error) }; break;
                case "cwd": backend = backend with { Cwd = String(p, at, error) }; break;
                case "url": backend = backend with { Urls = String(p, at, error) is { } u ? [u] : [] }; break;
                case "urls": backend = backend with { Urls = StringArray(p, at, error) }; break;
                case "headers": backend = backend with { Headers = StringMap(p, at, error) }; break;
                case "type" or "transport": type = String(p, at, error); break;
                case "enabled": backend = backend with { Enabled = Bool(p, at, error) ?? true }; break;
                case "disabled": backend = backend with { Enabled = !(Bool(p, at, error) ?? false) }; break;
                case "timeoutSeconds" or "timeout": backend = backend with { TimeoutSeconds = Number(p, at, error) }; break;
                case "protocolVersion": backend = backend with { ProtocolVersion = String(p, at, error) }; break;
                case "description": backend = backend with { Description = String(p, at, error) }; break;
                case "pinTools": backend = backend with { PinTools = Bool(p, at, error) }; break;
                case "tools": backend = backend with { Tools = Filter(p, at, error) }; break;
                case "prompts": backend = backend with { Prompts = Filter(p, at, error) }; break;
                case "resources": backend = backend with { Resources = Filter(p, at, error) }; break;
                case "sessions":
                    var sessions = String(p, at, error);
                    if (sessions is "shared" or "per-client")
                    {
                        backend = backend with { PerClientSessions = sessions == "per-client" };
                    }
                    else if (sessions is not null)
                    {
                        error(at, $"server '{name}': sessions '{sessions}' is not known; use 'shared' (one session for all clients) or 'per-client'.");
                    }

                    break;
                case "loadBalancing":
                    var mode = String(p, at, error);
                    if (mode is not null)
                    {
                        if (TryParseLoadBalancing(mode, out var lb))
                        {
                            backend = backend with { LoadBalancing = lb };
                        }
                        else
                        {
                            error(at, $"server '{name}': loadBalancing '{mode}' is not known; use 'round-robin', 'least-outstanding' or 'failover'.");
                        }
                    }

                    break;
                default:
                    error(at, $"server '{name}': unknown key '{p.Name}'. Known keys: {string.Join(", ", ServerKeys)}.");
                    break;
            }

        }

        if (type is not null)
        {
            if (TryParseTransport(type, out var transport))
            {
                backend = backend with { Transport = transport };
            }
            else
            {
                error($"{path}.type", $"server '{name}': type '{type}' is not known; use 'stdio', 'http' (streamable HTTP) or 'sse'.");
            }
        }
        else
        {
            backend = backend with { Transport = backend.Command is not null ? BackendTransport.Stdio : BackendTransport.Http };
        }

        return backend;
    }

    private static ProxySettings ReadSettings(JsonElement element, Action<string, string> error)
    {
        var settings = ProxySettings.Default;
        if (element.ValueKind != JsonValueKind.Object)
        {
            error("proxy", "'proxy' must be an object.");
            return settings;
        }

        foreach (var p in element.EnumerateObject())
        {
            var at = $"proxy.{p.Name}";
            switch (p.Name)
            {
                case "separator": settings = settings with { Separator = String(p, at, error) ?? settings.Separator }; break;
                case "prefix":
                    var prefix = String(p, at, error);
                    if (prefix is not null)
                    {
                        if (TryParsePrefix(prefix, out var mode))
                        {
                            settings = settings with { Prefix = mode };
                        }
                        else
                        {
                            error(at, $"proxy.prefix '{prefix}' is not known; use 'always', 'on-conflict' or 'never'.");
                        }
                    }

                    break;
                case "healthIntervalSeconds": settings = settings with { HealthIntervalSeconds = Number(p, at, error) ?? settings.HealthIntervalSeconds }; break;
                case "healthTimeoutSeconds": settings = settings with { HealthTimeoutSeconds = Number(p, at, error) ?? settings.HealthTimeoutSeconds }; break;
                case "callTimeoutSeconds": settings = settings with { CallTimeoutSeconds = Number(p, at, error) ?? settings.CallTimeoutSeconds }; break;
                case "maxCallTimeoutSeconds": settings = settings with { MaxCallTimeoutSeconds = Number(p, at, error) ?? settings.MaxCallTimeoutSeconds }; break;
                case "connectTimeoutSeconds": settings = settings with { ConnectTimeoutSeconds = Number(p, at, error) ?? settings.ConnectTimeoutSeconds }; break;
                case "withdrawGraceSeconds": settings = settings with { WithdrawGraceSeconds = Number(p, at, error) ?? settings.WithdrawGraceSeconds }; break;
                case "shutdownGraceSeconds": settings = settings with { ShutdownGraceSeconds = Number(p, at, error) ?? settings.ShutdownGraceSeconds }; break;
                case "pageSize":
                    var size = Number(p, at, error);
                    if (size is { } n && (n < 1 || n != Math.Floor(n)))
                    {
                        error(at, "proxy.pageSize must be a whole number of at least 1.");
                    }
                    else if (size is { } whole)
                    {
                        settings = settings with { PageSize = (int)whole };
                    }

                    break;
                case "allowStdioAdd": settings = settings with { AllowStdioAdd = Bool(p, at, error) ?? false }; break;
                case "backendProtocolVersion": settings = settings with { BackendProtocolVersion = String(p, at, error) ?? settings.BackendProtocolVersion }; break;
                case "allowedCommands": settings = settings with { Security = settings.Security with { AllowedCommands = StringArray(p, at, error) } }; break;
                case "pinTools": settings = settings with { Security = settings.Security with { PinTools = Bool(p, at, error) ?? false } }; break;
                case "allowedOrigins": settings = settings with { Security = settings.Security with { AllowedOrigins = StringArray(p, at, error) } }; break;
                case "allowedHosts": settings = settings with { Security = settings.Security with { AllowedHosts = StringArray(p, at, error) } }; break;
                case "tokenFile": settings = settings with { Security = settings.Security with { TokenFile = String(p, at, error) } }; break;
                case "maxMessageBytes":
                    settings = settings with { Security = settings.Security with { MaxMessageBytes = (long)(Number(p, at, error) ?? settings.Security.MaxMessageBytes) } };
                    break;
                case "maxBackendMessageBytes":
                    settings = settings with { Security = settings.Security with { MaxBackendMessageBytes = (long)(Number(p, at, error) ?? settings.Security.MaxBackendMessageBytes) } };
                    break;
                case "maxJsonDepth":
                    settings = settings with { Security = settings.Security with { MaxJsonDepth = (int)Math.Clamp(Number(p, at, error) ?? settings.Security.MaxJsonDepth, 0, int.MaxValue) } };
                    break;
                default:
                    error(at, $"proxy: unknown key '{p.Name}'. Known keys: {string.Join(", ", ProxyKeys)}.");
                    break;
            }
        }

        foreach (var problem in ConfigValidator.Validate(settings))
        {
            error("proxy", problem);
        }

        return settings;
    }

    internal static bool TryParseTransport(string value, out BackendTransport transport)
    {
        switch (value.ToLowerInvariant())
        {
            case "stdio": transport = BackendTransport.Stdio; return true;
            case "http" or "streamable-http" or "streamablehttp" or "streamable_http": transport = BackendTransport.Http; return true;
            case "sse": transport = BackendTransport.Sse; return true;
            default: transport = default; return false;
        }
    }

    internal static bool TryParsePrefix(string value, out PrefixMode mode)
    {
        switch (value.ToLowerInvariant())
        {
            case "always": mode = PrefixMode.Always; return true;
            case "on-conflict" or "onconflict" or "conflict": mode = PrefixMode.OnConflict; return true;
            case "never": mode = PrefixMode.Never; return true;
            default: mode = default; return false;
        }
    }

    internal static bool TryParseLoadBalancing(string value, out LoadBalancingMode mode)
    {
        switch (value.ToLowerInvariant())
        {
            case "round-robin" or "roundrobin": mode = LoadBalancingMode.RoundRobin; return true;
            case "least-outstanding" or "leastoutstanding" or "least-requests": mode = LoadBalancingMode.LeastOutstanding; return true;
            case "failover" or "priority": mode = LoadBalancingMode.Failover; return true;
            default: mode = default; return false;
        }
    }

    private static string? String(JsonProperty p, string at, Action<string, string> error)
    {
        if (p.Value.ValueKind == JsonValueKind.String)
        {
            return p.Value.GetString();
        }

        error(at, $"'{p.Name}' must be a string.");
        return null;
    }

    private static bool? Bool(JsonProperty p, string at, Action<string, string> error)
    {
        if (p.Value.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return p.Value.GetBoolean();
        }

        error(at, $"'{p.Name}' must be true or false.");
        return null;
    }

    private static double? Number(JsonProperty p, string at, Action<string, string> error)
    {
        if (p.Value.ValueKind == JsonValueKind.Number)
        {
            return p.Value.GetDouble();
        }

        error(at, $"'{p.Name}' must be a number (seconds).");
        return null;
    }

    private static ImmutableArray<string> StringArray(JsonProperty p, string at, Action<string, string> error)
    {
        if (p.Value.ValueKind != JsonValueKind.Array || p.Value.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
        {
            error(at, $"'{p.Name}' must be an array of strings, like [\"a\", \"b\"].");
            return [];
        }

        return [.. p.Value.EnumerateArray().Select(e => e.GetString()!)];
    }

    private static ImmutableSortedDictionary<string, string> StringMap(JsonProperty p, string at, Action<string, string> error)
    {
        if (p.Value.ValueKind != JsonValueKind.Object || p.Value.EnumerateObject().Any(e => e.Value.ValueKind != JsonValueKind.String))
        {
            error(at, $"'{p.Name}' must be an object of string values, like {{\"KEY\": \"value\"}}.");
            return ImmutableSortedDictionary<string, string>.Empty;
        }

        return p.Value.EnumerateObject().ToImmutableSortedDictionary(e => e.Name, e => e.Value.GetString()!, StringComparer.Ordinal);
    }

    private static NameFilter Filter(JsonProperty p, string at, Action<string, string> error)
    {
        if (p.Value.ValueKind != JsonValueKind.Object)
        {
            error(at, $"'{p.Name}' must be an object like {{\"allow\": [\"read_*\"], \"deny\": [\"delete_*\"]}}.");
            return NameFilter.All;
        }

        ImmutableArray<string> allow = [], deny = [];
        foreach (var f in p.Value.EnumerateObject())
        {
            switch (f.Name)
            {
                case "allow": allow = StringArray(f, $"{at}.allow", error); break;
                case "deny": deny = StringArray(f, $"{at}.deny", error); break;
                default: error($"{at}.{f.Name}", $"'{p.Name}': unknown key '{f.Name}'; use 'allow' and 'deny'."); break;
            }
        }

        return new NameFilter(allow, deny);
    }

    /// <summary>Finds the line on which a property path (like <c>mcpServers.files.command</c>) is written.</summary>
    private sealed class LineIndex
    {
        private readonly Dictionary<string, int> _lines = new(StringComparer.Ordinal);

        public LineIndex(string text)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            var newlines = new List<int>();
            for (var i = 0; i < bytes.Length; i++)
            {
                if (bytes[i] == (byte)'\n')
                {
                    newlines.Add(i);
                }
            }

            var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            var path = new List<string>();
            string? pending = null;
            try
            {
                while (reader.Read())
                {
                    switch (reader.TokenType)
                    {
                        case JsonTokenType.PropertyName:
                            pending = reader.GetString()!;
                            var full = string.Join('.', path.Append(pending));
                            var index = newlines.BinarySearch((int)reader.TokenStartIndex);
                            _lines.TryAdd(full, (index < 0 ? ~index : index) + 1);
                            break;
                        case JsonTokenType.StartObject or JsonTokenType.StartArray:
                            path.Add(pending ?? "");
                            pending = null;
                            break;
                        case JsonTokenType.EndObject or JsonTokenType.EndArray:
                            if (path.Count > 0)
                            {
                                path.RemoveAt(path.Count - 1);
                            }

                            break;
                        default:
                            pending = null;
                            break;
                    }
                }
            }
            catch (JsonException)
            {
                // Positions are best effort; the document itself already parsed.
            }
        }

        public int LineOf(params string[] paths)
        {
            foreach (var p in paths)
            {
                if (_lines.TryGetValue("." + p, out var line) || _lines.TryGetValue(p, out line))
                {
                    return line;
                }
            }

            return 1;
        }
    }
}
