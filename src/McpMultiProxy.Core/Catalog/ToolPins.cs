using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using McpMultiProxy.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace McpMultiProxy.Catalog;

/// <summary>A pinned tool definition: its hash, the hash of each part, and when it was pinned.</summary>
public sealed record ToolPin(string Hash, IReadOnlyDictionary<string, string> Parts, string? Description, DateTimeOffset PinnedAt);

/// <summary>A pinned tool whose backend now describes it differently: withheld until approved.</summary>
public sealed record PinChange(string Server, string Tool, ToolPin Pinned, ToolPin Current, IReadOnlyList<string> ChangedParts);

/// <summary>
/// Rug-pull protection. With pinning on (<c>proxy.pinTools</c>, or <c>pinTools</c> per server), the definition
/// of every tool (name, title, description, input and output schema, annotations) is hashed when first seen
/// and kept in a pins file. When a backend later describes a pinned tool differently (a tool that turned
/// malicious after being trusted), the tool is withheld from the catalog and the change is reported in the
/// log and in <c>proxy_status</c>, until an operator approves it (<c>manage</c> action <c>approve</c>).
/// </summary>
public sealed partial class ToolPins
{
    /// <summary>The parts of a definition that are hashed, in this order.</summary>
    public static readonly IReadOnlyList<string> PartNames = ["name", "title", "description", "inputSchema", "outputSchema", "annotations"];

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Dictionary<string, ToolPin>> _pins = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Server, string Tool), PinChange> _pending = [];
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Loads the pins of <paramref name="path"/> (when it exists); null keeps pins in memory only.</summary>
    /// <exception cref="ConfigException">The pins file exists but cannot be read: start-up stops rather than trusting every tool again.</exception>
    public ToolPins(string? path, TimeProvider time, ILogger? logger = null)
    {
        Path = path;
        _time = time;
        _logger = logger ?? NullLogger.Instance;
        if (path is not null && File.Exists(path))
        {
            Load(path);
        }
    }

    /// <summary>Where pins are saved, or null.</summary>
    public string? Path { get; }

    /// <summary>The pins file that goes with a config file: <c>&lt;config&gt;.pins.json</c> beside it.</summary>
    public static string? PathFor(string? configPath) => configPath is null ? null : configPath + ".pins.json";

    /// <summary>Changes waiting for approval, oldest first.</summary>
    public IReadOnlyList<PinChange> Pending
    {
        get
        {
            lock (_lock)
            {
                return [.. _pending.Values.OrderBy(c => c.Current.PinnedAt).ThenBy(c => c.Server, StringComparer.Ordinal).ThenBy(c => c.Tool, StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>How many tools are pinned for <paramref name="server"/>.</summary>
    public int PinnedCount(string server)
    {
        lock (_lock)
        {
            return _pins.TryGetValue(server, out var tools) ? tools.Count : 0;
        }
    }

    /// <summary>Whether <paramref name="config"/>'s tools are pinned under <paramref name="settings"/>.</summary>
    public static bool IsEnabled(BackendConfig config, ProxySettings settings) => config.PinTools ?? settings.Security.PinTools;

    /// <summary>
    /// The tools of one backend that may be served: pins the ones seen for the first time, and withholds
    /// (and reports) the ones whose definition differs from their pin.
    /// </summary>
    public List<Tool> Admit(BackendConfig config, List<Tool> tools, ProxySettings settings)
    {
        if (!IsEnabled(config, settings))
        {
            return tools;
        }

        var server = config.Name;
        var admitted = new List<Tool>(tools.Count);
        var changed = new List<PinChange>();
        var dirty = false;
        lock (_lock)
        {
            if (!_pins.TryGetValue(server, out var pins))
            {
                _pins[server] = pins = new Dictionary<string, ToolPin>(StringComparer.Ordinal);
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var tool in tools)
            {
                seen.Add(tool.Name);
                var current = Pin(tool, _time.GetUtcNow());
                if (!pins.TryGetValue(tool.Name, out var pinned))
                {
                    pins[tool.Name] = current;
                    dirty = true;
                    admitted.Add(tool);
                    continue;
                }

                if (pinned.Hash == current.Hash)
                {
                    _pending.Remove((server, tool.Name));
                    admitted.Add(tool);
                    continue;
                }

                if (!_pending.TryGetValue((server, tool.Name), out var known) || known.Current.Hash != current.Hash)
                {
                    var change = new PinChange(server, tool.Name, pinned, current, [.. PartNames.Where(p => pinned.Parts.GetValueOrDefault(p) != current.Parts.GetValueOrDefault(p))]);
                    _pending[(server, tool.Name)] = change;
                    changed.Add(change);
                }
            }

            // A withheld tool the backend no longer lists has nothing left to approve.
            foreach (var key in _pending.Keys.Where(k => k.Server == server && !seen.Contains(k.Tool)).ToList())
            {
                _pending.Remove(key);
            }

            if (dirty)
            {
                SaveLocked();
            }
        }

        foreach (var change in changed)
        {
            LogWithheld(_logger, change.Server, change.Tool, string.Join(", ", change.ChangedParts), change.Pinned.PinnedAt);
        }

        return admitted;
    }

    /// <summary>
    /// Approves the pending changes of <paramref name="server"/> (all servers when null or <c>all</c>), of one
    /// <paramref name="tool"/> or all of them: their new definitions become the pins. Returns what was approved.
    /// The caller rebuilds the catalog so that the tools are served again.
    /// </summary>
    public IReadOnlyList<PinChange> Approve(string? server, string? tool)
    {
        List<PinChange> approved;
        lock (_lock)
        {
            approved = [.. _pending.Values.Where(c => (server is null or "all" || c.Server == server) && (tool is null or "all" || c.Tool == tool))];
            foreach (var change in approved)
            {
                _pending.Remove((change.Server, change.Tool));
                if (!_pins.TryGetValue(change.Server, out var pins))
                {
                    _pins[change.Server] = pins = new Dictionary<string, ToolPin>(StringComparer.Ordinal);
                }

                pins[change.Tool] = change.Current;
            }

            if (approved.Count > 0)
            {
                SaveLocked();
            }
        }

        foreach (var change in approved)
        {
            LogApproved(_logger, change.Server, change.Tool);
        }

        return approved;
    }

    /// <summary>The pin of <paramref name="tool"/>'s current definition.</summary>
    public static ToolPin Pin(Tool tool, DateTimeOffset at)
    {
        var parts = new Dictionary<string, JsonNode?>(StringComparer.Ordinal)
        {
            ["name"] = JsonValue.Create(tool.Name),
            ["title"] = tool.Title is null ? null : JsonValue.Create(tool.Title),
            ["description"] = tool.Description is null ? null : JsonValue.Create(tool.Description),
            ["inputSchema"] = JsonNode.Parse(tool.InputSchema.GetRawText()),
            ["outputSchema"] = tool.OutputSchema is { } output ? JsonNode.Parse(output.GetRawText()) : null,
            ["annotations"] = tool.Annotations is null ? null : JsonSerializer.SerializeToNode(tool.Annotations, McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(ToolAnnotations))),
        };

        var whole = new StringBuilder();
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in PartNames)
        {
            var canonical = Canonical(parts[name]);
            hashes[name] = Hash(canonical);
            whole.Append(name).Append('=').Append(canonical).Append('\n');
        }

        return new ToolPin(Hash(whole.ToString()), hashes, tool.Description, at);
    }

    /// <summary>JSON text with object keys sorted, so that a backend reordering keys is not a change.</summary>
    internal static string Canonical(JsonNode? node)
    {
        var text = new StringBuilder();
        Write(node, text);
        return text.ToString();

        static void Write(JsonNode? node, StringBuilder text)
        {
            switch (node)
            {
                case null:
                    text.Append("null");
                    break;
                case JsonObject o:
                    text.Append('{');
                    var first = true;
                    foreach (var (key, value) in o.OrderBy(p => p.Key, StringComparer.Ordinal))
                    {
                        text.Append(first ? "" : ",").Append(JsonValue.Create(key).ToJsonString()).Append(':');
                        Write(value, text);
                        first = false;
                    }

                    text.Append('}');
                    break;
                case JsonArray a:
                    text.Append('[');
                    for (var i = 0; i < a.Count; i++)
                    {
                        text.Append(i == 0 ? "" : ",");
                        Write(a[i], text);
                    }

                    text.Append(']');
                    break;
                default:
                    text.Append(node.ToJsonString());
                    break;
            }
        }
    }

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private void Load(string path)
    {
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new JsonException("not a JSON object");
            foreach (var (server, tools) in root["servers"] as JsonObject ?? [])
            {
                var pins = _pins[server] = new Dictionary<string, ToolPin>(StringComparer.Ordinal);
                foreach (var (tool, pin) in tools as JsonObject ?? [])
                {
                    var parts = (pin?["parts"] as JsonObject ?? []).ToDictionary(p => p.Key, p => p.Value!.GetValue<string>(), StringComparer.Ordinal);
                    pins[tool] = new ToolPin(
                        pin!["hash"]!.GetValue<string>(),
                        parts,
                        pin["description"]?.GetValue<string>(),
                        DateTimeOffset.Parse(pin["pinnedAt"]!.GetValue<string>(), CultureInfo.InvariantCulture));
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or InvalidOperationException or FormatException or NullReferenceException)
        {
            throw new ConfigException($"{path}: the tool pins file cannot be read ({ex.Message}). Fix it, or delete it to pin every tool afresh as it is now.");
        }
    }

    private void SaveLocked()
    {
        if (Path is null)
        {
            return;
        }

        var servers = new JsonObject();
        foreach (var (server, tools) in _pins.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var o = new JsonObject();
            foreach (var (tool, pin) in tools.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                o[tool] = new JsonObject
                {
                    ["hash"] = pin.Hash,
                    ["parts"] = new JsonObject([.. pin.Parts.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)JsonValue.Create(p.Value)))]),
                    ["description"] = pin.Description,
                    ["pinnedAt"] = pin.PinnedAt.ToString("O", CultureInfo.InvariantCulture),
                };
            }

            servers[server] = o;
        }

        var text = new JsonObject { ["version"] = 1, ["servers"] = servers }.ToJsonString(Indented) + "\n";
        try
        {
            AtomicFile.Write(Path, text);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Pins stay in force in memory; the next change tries again.
            LogSaveFailed(_logger, Path, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Backend}: tool '{Tool}' changed since it was pinned at {PinnedAt:O} ({Parts}); it is withheld until an operator approves it (manage action 'approve').")]
    private static partial void LogWithheld(ILogger logger, string backend, string tool, string parts, DateTimeOffset pinnedAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Backend}: the new definition of tool '{Tool}' was approved and pinned")]
    private static partial void LogApproved(ILogger logger, string backend, string tool);

    [LoggerMessage(Level = LogLevel.Error, Message = "Tool pins could not be saved to {Path}: {Reason}")]
    private static partial void LogSaveFailed(ILogger logger, string path, string reason);
}
