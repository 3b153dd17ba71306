using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace McpMultiProxy.Configuration;

/// <summary>Writes the config back in the <c>mcpServers</c> format, atomically.</summary>
public static class ConfigWriter
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>The config as JSON text. Values are written as they were read (<c>${env:NAME}</c> stays a placeholder).</summary>
    public static string ToJson(ProxyConfig config)
    {
        var servers = new JsonObject();
        foreach (var s in config.Servers)
        {
            servers[s.Name] = ToJson(s);
        }

        var root = new JsonObject { ["mcpServers"] = servers };
        var proxy = SettingsToJson(config.Settings);
        if (proxy.Count > 0)
        {
            root["proxy"] = proxy;
        }

        return root.ToJsonString(Indented) + "\n";
    }

    /// <summary>One backend as a config object, with defaults left out.</summary>
    public static JsonObject ToJson(BackendConfig s)
    {
        var o = new JsonObject();
        if (s.Transport == BackendTransport.Stdio)
        {
            o["command"] = s.Command;
            if (!s.Args.IsDefaultOrEmpty)
            {
                o["args"] = new JsonArray([.. s.Args.Select(a => JsonValue.Create(a))]);
            }

            if (!s.Env.IsEmpty)
            {
                o["env"] = Map(s.Env);
            }

            if (s.Cwd is not null)
            {
                o["cwd"] = s.Cwd;
            }
        }
        else
        {
            if (s.Transport == BackendTransport.Sse)
            {
                o["type"] = "sse";
            }

            if (s.Urls.Length == 1)
            {
                o["url"] = s.Urls[0];
            }
            else
            {
                o["urls"] = new JsonArray([.. s.Urls.Select(u => JsonValue.Create(u))]);
            }

            if (!s.Headers.IsEmpty)
            {
                o["headers"] = Map(s.Headers);
            }

            if (s.LoadBalancing != LoadBalancingMode.RoundRobin)
            {
                o["loadBalancing"] = s.LoadBalancing switch
                {
                    LoadBalancingMode.LeastOutstanding => "least-outstanding",
                    _ => "failover",
                };
            }
        }

        if (!s.Enabled)
        {
            o["enabled"] = false;
        }

        if (s.PerClientSessions)
        {
            o["sessions"] = "per-client";
        }

        if (s.TimeoutSeconds is { } timeout)
        {
            o["timeoutSeconds"] = timeout;
        }

        AddFilter(o, "tools", s.Tools);
        AddFilter(o, "prompts", s.Prompts);
        AddFilter(o, "resources", s.Resources);
        if (s.ProtocolVersion is not null)
        {
            o["protocolVersion"] = s.ProtocolVersion;
        }

        if (s.Description is not null)
        {
            o["description"] = s.Description;
        }

        if (s.PinTools is { } pin)
        {
            o["pinTools"] = pin;
        }

        return o;
    }

    /// <summary>Writes the config file atomically (see <see cref="AtomicFile.Write"/>).</summary>
    public static void SaveAtomic(string path, ProxyConfig config) => AtomicFile.Write(path, ToJson(config));

    private static JsonObject SettingsToJson(ProxySettings s)
    {
        var d = ProxySettings.Default;
        var o = new JsonObject();
        if (s.Separator != d.Separator)
        {
            o["separator"] = s.Separator;
        }

        if (s.Prefix != d.Prefix)
        {
            o["prefix"] = s.Prefix == PrefixMode.OnConflict ? "on-conflict" : "never";
        }

        void Num(string key, double value, double def)
        {
            if (value != def)
            {
                o[key] = value;
            }
        }

        Num("healthIntervalSeconds", s.HealthIntervalSeconds, d.HealthIntervalSeconds);
        Num("healthTimeoutSeconds", s.HealthTimeoutSeconds, d.HealthTimeoutSeconds);
        Num("callTimeoutSeconds", s.CallTimeoutSeconds, d.CallTimeoutSeconds);
        Num("maxCallTimeoutSeconds", s.MaxCallTimeoutSeconds, d.MaxCallTimeoutSeconds);
        Num("connectTimeoutSeconds", s.ConnectTimeoutSeconds, d.ConnectTimeoutSeconds);
        Num("withdrawGraceSeconds", s.WithdrawGraceSeconds, d.WithdrawGraceSeconds);
        Num("shutdownGraceSeconds", s.ShutdownGraceSeconds, d.ShutdownGraceSeconds);
        if (s.AllowStdioAdd)
        {
            o["allowStdioAdd"] = true;
        }

        if (s.PageSize != d.PageSize)
        {
            o["pageSize"] = s.PageSize;
        }

        if (s.BackendProtocolVersion != d.BackendProtocolVersion)
        {
            o["backendProtocolVersion"] = s.BackendProtocolVersion;
        }

        Security.SecurityConfig.Write(o, s.Security);
        return o;
    }

    private static JsonObject Map(IEnumerable<KeyValuePair<string, string>> values)
    {
        var o = new JsonObject();
        foreach (var (k, v) in values)
        {
            o[k] = v;
        }

        return o;
    }

    private static void AddFilter(JsonObject o, string key, NameFilter filter)
    {
        if (filter.IsEmpty)
        {
            return;
        }

        var f = new JsonObject();
        if (!filter.Allow.IsDefaultOrEmpty)
        {
            f["allow"] = new JsonArray([.. filter.Allow.Select(a => JsonValue.Create(a))]);
        }

        if (!filter.Deny.IsDefaultOrEmpty)
        {
            f["deny"] = new JsonArray([.. filter.Deny.Select(a => JsonValue.Create(a))]);
        }

        o[key] = f;
    }
}
