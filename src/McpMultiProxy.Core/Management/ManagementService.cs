using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using McpMultiProxy.Backends;
using McpMultiProxy.Catalog;
using McpMultiProxy.Configuration;
using McpMultiProxy.Health;
using McpMultiProxy.Security;
using ModelContextProtocol.Protocol;

namespace McpMultiProxy.Management;

/// <summary>
/// Carries out <c>manage</c>, <c>proxy_status</c> and <c>proxy_health</c>: readable text for the model and
/// <c>structuredContent</c> for programs. Bad input gets an error result that says what was wrong and how
/// to fix it, and changes nothing.
/// </summary>
/// <param name="registry">The backends.</param>
/// <param name="catalog">The catalog served now.</param>
/// <param name="time">The clock.</param>
/// <param name="secrets">Known secret values, scrubbed from every answer (defence in depth); null scrubs nothing.</param>
public sealed class ManagementService(BackendRegistry registry, ProxyCatalog catalog, TimeProvider time, SecretValues? secrets = null)
{
    private static readonly string[] Actions = ["add", "remove", "list", "enable", "disable", "health", "approve"];
    private static readonly string[] ManageKeys = ["action", "name", "url", "urls", "transport", "headers", "command", "args", "env", "cwd", "tool"];

    /// <summary>How long <c>manage add</c> and <c>enable</c> wait for the new server to connect before answering.</summary>
    public TimeSpan ConnectWait { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Runs one of the proxy's own tools.</summary>
    public async Task<CallToolResult> InvokeAsync(string tool, IDictionary<string, JsonElement>? arguments, CancellationToken cancellationToken)
    {
        arguments ??= new Dictionary<string, JsonElement>();
        try
        {
            return tool switch
            {
                ProxyTools.Manage => await ManageAsync(arguments, cancellationToken).ConfigureAwait(false),
                ProxyTools.Status => StatusResult(OptionalString(arguments, "name")),
                ProxyTools.Health => HealthOverview(),
                _ => Error($"unknown proxy tool '{tool}'."),
            };
        }
        catch (ManagementException ex)
        {
            return Error(ex.Message);
        }
        catch (ConfigException ex)
        {
            return Error(ex.Message);
        }
    }

    /// <summary>Status of every backend (or one), as data, scrubbed of known secrets.</summary>
    public JsonObject Status(string? only = null)
    {
        var status = BuildStatus(only, Pending());
        return secrets is null ? status : JsonNode.Parse(Scrub(status.ToJsonString()))!.AsObject();
    }

    /// <summary>
    /// The status before scrubbing: the tools' answers scrub it once, in <see cref="Ok"/>.
    /// <paramref name="pending"/> is the withheld tools, read once per answer.
    /// </summary>
    private JsonObject BuildStatus(string? only, IReadOnlyList<PinChange> pending)
    {
        var config = registry.Config;
        var snapshot = catalog.Current;
        var servers = new JsonArray();
        foreach (var backend in config.Servers)
        {
            if (only is null || backend.Name == only)
            {
                servers.Add((JsonNode)ServerStatus(backend, snapshot, pending));
            }
        }

        var counts = CountStates(servers);
        var status = new JsonObject
        {
            ["proxy"] = ProxyStatus(),
            ["summary"] = counts,
            ["servers"] = servers,
            ["conflicts"] = new JsonArray([.. snapshot.Conflicts.Select(c => JsonValue.Create(c))]),
            ["withheld"] = PinReport.Withheld(pending),
            ["tools"] = snapshot.Tools.Count,
        };
        return status;
    }

    private IReadOnlyList<PinChange> Pending() => registry.Pins?.Pending ?? [];

    private JsonObject ProxyStatus()
    {
        var o = new JsonObject { ["name"] = ProxyInfo.Name, ["version"] = ProxyInfo.Version, ["configFile"] = registry.StoreLocation };
        if (registry.ConfigError is { } problem)
        {
            o["configError"] = problem.Error;
            o["configErrorAt"] = problem.At.ToString("O", CultureInfo.InvariantCulture);
        }

        return o;
    }

    private async Task<CallToolResult> ManageAsync(IDictionary<string, JsonElement> args, CancellationToken cancellationToken)
    {
        foreach (var key in args.Keys)
        {
            if (!ManageKeys.Contains(key))
            {
                return Error($"manage: unknown argument '{key}'. It takes: {string.Join(", ", ManageKeys)}.");
            }
        }

        var action = OptionalString(args, "action");
        if (action is null)
        {
            return Error($"manage: 'action' is required: one of {string.Join(", ", Actions)}.");
        }

        var name = OptionalString(args, "name");
        switch (action.ToLowerInvariant())
        {
            case "list":
                return ListResult();
            case "health":
                return await HealthCheckAsync(name is null or "all" ? null : name, cancellationToken).ConfigureAwait(false);
            case "add":
                return await AddAsync(args, name, cancellationToken).ConfigureAwait(false);
            case "remove" when OptionalString(args, "url") is { } url:
                return await RemoveReplicaAsync(RequireName(name, "remove"), url, cancellationToken).ConfigureAwait(false);
            case "remove":
                await registry.RemoveAsync(RequireName(name, "remove"), cancellationToken).ConfigureAwait(false);
                return Ok($"Removed server '{name}'.{Saved()}", new JsonObject { ["action"] = "remove", ["name"] = name, ["ok"] = true });
            case "enable":
                await registry.SetEnabledAsync(RequireName(name, "enable"), true, cancellationToken).ConfigureAwait(false);
                await WaitForConnectAsync(name!, cancellationToken).ConfigureAwait(false);
                return ChangedResult("enable", name!, $"Enabled server '{name}'");
            case "approve":
                return Approve(name, OptionalString(args, "tool"));
            case "disable":
                await registry.SetEnabledAsync(RequireName(name, "disable"), false, cancellationToken).ConfigureAwait(false);
                return Ok($"Disabled server '{name}': its tools are withdrawn until it is enabled again.{Saved()}", new JsonObject { ["action"] = "disable", ["name"] = name, ["ok"] = true });
            default:
                return Error($"manage: unknown action '{action}'. Use one of: {string.Join(", ", Actions)}.");
        }
    }

    private async Task<CallToolResult> AddAsync(IDictionary<string, JsonElement> args, string? name, CancellationToken cancellationToken)
    {
        var url = OptionalString(args, "url");
        var urls = OptionalStringArray(args, "urls");
        var command = OptionalString(args, "command");
        var transportText = OptionalString(args, "transport");
        if (url is not null)
        {
            urls = [url, .. urls.Where(u => u != url)];
        }

        if (command is null && urls.IsEmpty)
        {
            return Error("manage add: give 'url' (the server's MCP endpoint, e.g. http://127.0.0.1:8000/mcp), or 'command' for a program to start.");
        }

        if (command is not null && !urls.IsEmpty)
        {
            return Error("manage add: give either 'url' or 'command', not both.");
        }

        if (name is not null && registry.Config.Find(name) is { } existing)
        {
            return await AddReplicaAsync(existing, args, urls, command, cancellationToken).ConfigureAwait(false);
        }

        var transport = command is not null ? BackendTransport.Stdio : BackendTransport.Http;
        if (transportText is not null && !ConfigParser.TryParseTransport(transportText, out transport))
        {
            return Error($"manage add: transport '{transportText}' is not known; use 'http', 'sse' or 'stdio'.");
        }

        name ??= ServersArgument.GenerateName(urls.FirstOrDefault() ?? command!, registry.Config.Servers.Select(s => s.Name));
        var config = new BackendConfig
        {
            Name = name,
            Transport = transport,
            Command = command,
            Args = OptionalStringArray(args, "args"),
            Env = OptionalStringMap(args, "env"),
            Cwd = OptionalString(args, "cwd"),
            Urls = urls,
            Headers = OptionalStringMap(args, "headers"),
        };
        if (ManageAddPolicy.Check(config, registry.Settings) is { } refused)
        {
            return Error(refused);
        }

        secrets?.Include(config);

        await registry.AddAsync(config, persist: true, cancellationToken).ConfigureAwait(false);
        await WaitForConnectAsync(name, cancellationToken).ConfigureAwait(false);
        return ChangedResult("add", name, $"Added server '{name}' ({config.DisplayTarget})");
    }

    /// <summary>
    /// <c>manage add</c> of a name that exists, with a URL it does not have yet: the URL becomes one more replica of
    /// that server (same tools, calls spread by its loadBalancing policy); its other replicas keep their sessions.
    /// </summary>
    private async Task<CallToolResult> AddReplicaAsync(BackendConfig existing, IDictionary<string, JsonElement> args, ImmutableArray<string> urls, string? command, CancellationToken cancellationToken)
    {
        var others = args.Keys.Where(k => k is not ("action" or "name" or "url" or "urls" or "transport")).ToList();
        if (command is not null || existing.Transport == BackendTransport.Stdio || others.Count > 0 || urls.IsEmpty)
        {
            return Error(
                $"manage add: a server named '{existing.Name}' already exists. Adding the same name again with only 'url' adds that URL as another " +
                "replica of an HTTP server; to change anything else, remove the server and add it again (or edit the config file).");
        }

        var added = urls.Where(u => !existing.Urls.Contains(u)).ToList();
        if (added.Count == 0)
        {
            return Error($"manage add: server '{existing.Name}' already has {(urls.Length == 1 ? "that URL" : "those URLs")}. Use action 'list' to see its replicas.");
        }

        await registry.UpdateAsync(existing with { Urls = [.. existing.Urls, .. added] }, cancellationToken).ConfigureAwait(false);
        await WaitForConnectAsync(existing.Name, cancellationToken).ConfigureAwait(false);
        return ChangedResult("add", existing.Name, $"Added {string.Join(", ", added.Select(Redaction.RedactUrl))} as a replica of server '{existing.Name}' ({existing.Urls.Length + added.Count} replicas, {existing.LoadBalancing})");
    }

    /// <summary><c>manage remove</c> with a <c>url</c>: drops that replica only; the server's other replicas keep serving.</summary>
    private async Task<CallToolResult> RemoveReplicaAsync(string name, string url, CancellationToken cancellationToken)
    {
        var existing = registry.Config.Find(name)
            ?? throw new ManagementException($"manage remove: there is no server named '{name}'. Use action 'list' to see them.");
        if (!existing.Urls.Contains(url))
        {
            return Error($"manage remove: server '{name}' has no replica {Redaction.RedactUrl(url)}. Its replicas: {string.Join(", ", existing.Urls.Select(Redaction.RedactUrl))}.");
        }

        if (existing.Urls.Length == 1)
        {
            return Error($"manage remove: {Redaction.RedactUrl(url)} is the only replica of server '{name}'; remove the server itself (without 'url').");
        }

        await registry.UpdateAsync(existing with { Urls = [.. existing.Urls.Where(u => u != url)] }, cancellationToken).ConfigureAwait(false);
        return Ok(
            $"Removed replica {Redaction.RedactUrl(url)} of server '{name}'; {existing.Urls.Length - 1} replica(s) left.{Saved()}",
            new JsonObject { ["action"] = "remove", ["name"] = name, ["url"] = Redaction.RedactUrl(url), ["ok"] = true });
    }

    private CallToolResult ChangedResult(string action, string name, string done)
    {
        var status = ServerStatus(registry.Config.Find(name)!, catalog.Current, Pending());
        var state = status["state"]!.GetValue<string>();
        var text = state switch
        {
            "healthy" or "degraded" => $"{done}: {state}, {status["tools"]} tools served.{Saved()}",
            "starting" => $"{done}: still starting; its tools appear when it is ready (see proxy_status).{Saved()}",
            _ => $"{done}, but it is {state}: {status["lastError"]}. The proxy keeps retrying; fix the server or remove it.{Saved()}",
        };
        return Ok(text, new JsonObject { ["action"] = action, ["name"] = name, ["ok"] = true, ["server"] = status });
    }

    private async Task WaitForConnectAsync(string name, CancellationToken cancellationToken)
    {
        var backend = registry.Live(name);
        if (backend is null || backend.ServedState != HealthState.Starting)
        {
            return;
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnChanged(Backend b, ListKinds k)
        {
            if (b.ServedState != HealthState.Starting)
            {
                done.TrySetResult();
            }
        }

        backend.Changed += OnChanged;
        try
        {
            if (backend.ServedState == HealthState.Starting)
            {
                await done.Task.WaitAsync(ConnectWait, time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (TimeoutException)
        {
        }
        finally
        {
            backend.Changed -= OnChanged;
        }
    }

    private CallToolResult ListResult()
    {
        var status = BuildStatus(null, Pending());
        var servers = (JsonArray)status["servers"]!;
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{servers.Count} server(s)");
        text.AppendLine(registry.StoreLocation is { } file ? $" (config: {file})" : "");
        foreach (var s in servers)
        {
            text.Append(CultureInfo.InvariantCulture, $"- {s!["name"]}: {s["state"]}, {s["transport"]} {s["target"]}, {s["tools"]} tools");
            text.AppendLine(s["lastError"] is { } e && s["state"]!.GetValue<string>() is not ("healthy" or "disabled") ? $" — {e}" : "");
        }

        return Ok(text.ToString().TrimEnd(), status);
    }

    private CallToolResult StatusResult(string? only)
    {
        if (only is not null && registry.Config.Find(only) is null)
        {
            return Error($"proxy_status: there is no server named '{only}'. Known servers: {string.Join(", ", registry.Config.Servers.Select(s => s.Name))}.");
        }

        var pending = Pending();
        var status = BuildStatus(only, pending);
        var text = new StringBuilder();
        var summary = status["summary"]!;
        text.AppendLine(CultureInfo.InvariantCulture, $"{ProxyInfo.Name} {ProxyInfo.Version}: {summary["healthy"]}/{summary["total"]} servers healthy, {status["tools"]} tools served");
        if (status["proxy"]?["configError"] is { } configError)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"config file NOT applied (the last good config stays in force): {configError}");
        }

        foreach (var s in (JsonArray)status["servers"]!)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"{s!["name"]} [{s["state"]}] {s["transport"]} {s["target"]}");
            text.AppendLine(CultureInfo.InvariantCulture, $"  enabled: {s["enabled"]}, tools: {s["tools"]}, prompts: {s["prompts"]}, resources: {s["resources"]}");
            text.AppendLine(CultureInfo.InvariantCulture, $"  calls: {s["calls"]}, errors: {s["errors"]}, timeouts: {s["timeouts"]}, in flight: {s["inFlight"]}");
            var rt = s["responseMs"]!;
            text.AppendLine(CultureInfo.InvariantCulture, $"  response ms: last {Ms(rt["last"])}, avg {Ms(rt["average"])}, p95 {Ms(rt["p95"])}");
            if (s["lastError"] is { } error)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"  last error: {error}");
            }

            if (s["retry"] is { } retry)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"  retry: attempt {retry["attempt"]}, next at {retry["nextAt"]}");
            }

            if (s["withdrawAt"] is { } withdrawAt)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"  tools still listed until {withdrawAt} unless it recovers");
            }

            if (s["replicas"] is JsonArray { Count: > 1 } replicas)
            {
                foreach (var r in replicas)
                {
                    text.AppendLine(CultureInfo.InvariantCulture, $"  replica {r!["index"]} {r["target"]}: {r["state"]}, circuit {r["circuit"]}, calls {r["calls"]}, errors {r["errors"]}, in flight {r["inFlight"]}");
                }
            }

            if (s["server"]?["instructions"] is { } instructions)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"  instructions: {instructions}");
            }
        }

        foreach (var conflict in catalog.Current.Conflicts)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"conflict: {conflict}");
        }

        foreach (var line in PinReport.Lines(pending))
        {
            text.AppendLine(line);
        }

        return Ok(text.ToString().TrimEnd(), status);
    }

    private CallToolResult HealthOverview()
    {
        var status = BuildStatus(null, Pending());
        var summary = status["summary"]!;
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"{summary["healthy"]}/{summary["total"]} servers healthy");
        var lines = new JsonArray();
        foreach (var s in (JsonArray)status["servers"]!)
        {
            var line = $"{s!["name"]}: {s["state"]}" + (s["responseMs"]!["average"] is { } avg ? $", avg {Ms(avg)} ms" : "")
                + (s["lastError"] is { } e && s["state"]!.GetValue<string>() is "unhealthy" or "degraded" ? $" — {e}" : "");
            text.AppendLine(line);
            lines.Add((JsonNode)new JsonObject { ["name"] = s["name"]!.DeepClone(), ["state"] = s["state"]!.DeepClone(), ["lastError"] = s["lastError"]?.DeepClone() });
        }

        return Ok(text.ToString().TrimEnd(), new JsonObject { ["summary"] = summary.DeepClone(), ["servers"] = lines });
    }

    private async Task<CallToolResult> HealthCheckAsync(string? name, CancellationToken cancellationToken)
    {
        var targets = name is null ? registry.Config.Servers : [registry.Config.Find(name) ?? throw new ManagementException(
            $"manage health: there is no server named '{name}'. Known servers: {string.Join(", ", registry.Config.Servers.Select(s => s.Name))}; or use 'all'.")];
        var timeout = TimeSpan.FromSeconds(registry.Settings.HealthTimeoutSeconds);
        var checks = await Task.WhenAll(targets.Select(async config =>
        {
            var backend = registry.Live(config.Name);

            // An operator asking means "look now": a replica waiting out its backoff tries again at once.
            foreach (var replica in backend?.Replicas ?? [])
            {
                replica.RetryNow();
            }

            var pings = backend is null ? [] : await backend.PingAsync(timeout, cancellationToken).ConfigureAwait(false);
            return (config, backend, pings);
        })).ConfigureAwait(false);

        var snapshot = catalog.Current;
        var pending = Pending();
        var results = new JsonArray();
        var text = new StringBuilder();
        foreach (var (config, backend, pings) in checks)
        {
            var status = ServerStatus(config, snapshot, pending);
            status["check"] = new JsonArray([.. pings.Select(p => new JsonObject { ["replica"] = p.Replica, ["ok"] = p.Ok, ["ms"] = p.Ms is { } ms ? Math.Round(ms, 2) : null, ["error"] = p.Error })]);
            results.Add((JsonNode)status);
            var ok = pings.Count(p => p.Ok);
            var detail = backend is null ? "disabled"
                : ok == pings.Count ? $"{status["state"]}, ping {string.Join("/", pings.Select(p => Ms(JsonValue.Create(p.Ms))))} ms"
                : $"{status["state"]}, {pings.Count - ok}/{pings.Count} ping(s) failed: {pings.First(p => !p.Ok).Error}";
            text.AppendLine(CultureInfo.InvariantCulture, $"- {config.Name}: {detail}, {status["tools"]} tools, {status["errors"]} errors in {status["calls"]} calls");
        }

        var summary = CountStates(results);
        var header = $"Health check of {results.Count} server(s): {summary["healthy"]} healthy, {summary["degraded"]} degraded, {summary["unhealthy"]} unhealthy, {summary["starting"]} starting, {summary["disabled"]} disabled";
        return Ok((header + Environment.NewLine + text).TrimEnd(), new JsonObject { ["action"] = "health", ["summary"] = summary, ["servers"] = results });
    }

    private JsonObject ServerStatus(BackendConfig config, CatalogSnapshot snapshot, IReadOnlyList<PinChange> pending)
    {
        var backend = registry.Live(config.Name);
        var replicas = backend?.Replicas.Select(r => r.Status()).ToList() ?? [];
        var stats = StatsSnapshot.Combine([.. replicas.Select(r => r.Stats)]);
        var state = backend?.ServedState ?? HealthState.Disabled;
        var lastError = replicas.Where(r => r.LastError is not null).OrderByDescending(r => r.LastErrorAt).FirstOrDefault();
        var retrying = replicas.Where(r => r.NextRetryAt is not null && r.State is HealthState.Unhealthy).OrderBy(r => r.NextRetryAt).FirstOrDefault();
        var lists = backend?.Lists ?? BackendLists.Empty;
        var first = replicas.FirstOrDefault(r => r.ServerName is not null);
        var o = new JsonObject
        {
            ["name"] = config.Name,
            ["transport"] = config.Transport.ToString().ToLowerInvariant(),
            ["target"] = config.DisplayTarget,
            ["enabled"] = config.Enabled,
            ["state"] = state.ToDisplay(),
            ["tools"] = snapshot.ToolCount(config.Name),
            ["prompts"] = lists.Prompts.Count,
            ["resources"] = lists.Resources.Count + lists.Templates.Count,
            ["calls"] = stats.Calls,
            ["errors"] = stats.Errors,
            ["timeouts"] = stats.Timeouts,
            ["inFlight"] = stats.InFlight,
            ["responseMs"] = new JsonObject { ["last"] = Round(stats.LastMs), ["average"] = Round(stats.AverageMs), ["p95"] = Round(stats.P95Ms) },
            ["lastError"] = lastError?.LastError,
            ["lastErrorAt"] = lastError?.LastErrorAt?.ToString("O", CultureInfo.InvariantCulture),
            ["restarts"] = replicas.Sum(r => r.Restarts),
        };
        if (config.Description is not null)
        {
            o["description"] = config.Description;
        }

        if (registry.Pins is { } pins && ToolPins.IsEnabled(config, registry.Settings))
        {
            o["pinnedTools"] = pins.PinnedCount(config.Name);
            o["withheldTools"] = pending.Count(c => c.Server == config.Name);
        }

        if (config.PerClientSessions)
        {
            o["sessions"] = "per-client";
            o["clientSessions"] = backend?.ClientSessionCount ?? 0;
        }

        if (retrying is not null)
        {
            o["retry"] = new JsonObject
            {
                ["attempt"] = retrying.RetryAttempt,
                ["nextAt"] = retrying.NextRetryAt?.ToString("O", CultureInfo.InvariantCulture),
                ["lastError"] = retrying.LastError,
            };
        }

        if (backend?.WithdrawAt is { } withdrawAt)
        {
            // Still listed through the grace period: clients keep the tools unless it stays down until then.
            o["withdrawAt"] = withdrawAt.ToString("O", CultureInfo.InvariantCulture);
        }

        if (first is not null)
        {
            o["server"] = new JsonObject { ["name"] = first.ServerName, ["version"] = first.ServerVersion, ["protocolVersion"] = first.ProtocolVersion, ["instructions"] = first.Instructions };
        }

        if (!config.Env.IsEmpty)
        {
            o["env"] = RedactedKeys(config.Env.Keys);
        }

        if (!config.Headers.IsEmpty)
        {
            o["headers"] = RedactedKeys(config.Headers.Keys);
        }

        if (replicas.Count > 1)
        {
            o["loadBalancing"] = config.LoadBalancing.ToString();
        }

        if (replicas.Count > 0)
        {
            o["replicas"] = new JsonArray([.. replicas.Select(r => new JsonObject
            {
                ["index"] = r.Index,
                ["target"] = r.Target,
                ["state"] = r.State.ToDisplay(),
                ["circuit"] = r.Circuit switch { CircuitState.Open => "open", CircuitState.HalfOpen => "half-open", _ => "closed" },
                ["calls"] = r.Stats.Calls,
                ["errors"] = r.Stats.Errors,
                ["inFlight"] = r.Stats.InFlight,
                ["averageMs"] = Round(r.Stats.AverageMs),
                ["restarts"] = r.Restarts,
                ["retryAttempt"] = r.RetryAttempt,
                ["nextRetryAt"] = r.NextRetryAt?.ToString("O", CultureInfo.InvariantCulture),
                ["lastError"] = r.LastError,
            })]);
        }

        return o;
    }

    private static JsonObject RedactedKeys(IEnumerable<string> keys)
    {
        var o = new JsonObject();
        foreach (var key in keys)
        {
            o[key] = Redaction.Mask;
        }

        return o;
    }

    private static JsonObject CountStates(JsonArray servers)
    {
        var o = new JsonObject { ["total"] = servers.Count };
        foreach (var state in new[] { HealthState.Healthy, HealthState.Degraded, HealthState.Unhealthy, HealthState.Starting, HealthState.Disabled })
        {
            var key = state.ToDisplay();
            o[key] = servers.Count(s => s!["state"]!.GetValue<string>() == key);
        }

        return o;
    }

    private string Saved() => registry.StoreLocation is { } file ? $" Saved to {file}." : "";

    private static string RequireName(string? name, string action) =>
        string.IsNullOrWhiteSpace(name) ? throw new ManagementException($"manage {action}: 'name' is required (the server's name; action 'list' shows them).") : name;

    private static string? OptionalString(IDictionary<string, JsonElement> args, string key) =>
        !args.TryGetValue(key, out var value) || value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : throw new ManagementException($"'{key}' must be a string.");

    private static ImmutableArray<string> OptionalStringArray(IDictionary<string, JsonElement> args, string key)
    {
        if (!args.TryGetValue(key, out var value) || value.ValueKind is JsonValueKind.Null)
        {
            return [];
        }

        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
        {
            throw new ManagementException($"'{key}' must be an array of strings.");
        }

        return [.. value.EnumerateArray().Select(e => e.GetString()!)];
    }

    private static ImmutableSortedDictionary<string, string> OptionalStringMap(IDictionary<string, JsonElement> args, string key)
    {
        if (!args.TryGetValue(key, out var value) || value.ValueKind is JsonValueKind.Null)
        {
            return ImmutableSortedDictionary<string, string>.Empty;
        }

        if (value.ValueKind != JsonValueKind.Object || value.EnumerateObject().Any(e => e.Value.ValueKind != JsonValueKind.String))
        {
            throw new ManagementException($"'{key}' must be an object of string values.");
        }

        return value.EnumerateObject().ToImmutableSortedDictionary(e => e.Name, e => e.Value.GetString()!, StringComparer.Ordinal);
    }

    private static double? Round(double? value) => value is { } v ? Math.Round(v, 2) : null;

    private static string Ms(JsonNode? value) => value is null ? "-" : value.GetValue<double>().ToString("0.##", CultureInfo.InvariantCulture);

    private CallToolResult Approve(string? name, string? tool)
    {
        var pins = registry.Pins;
        if (pins is null || pins.Pending.Count == 0)
        {
            return Ok("manage approve: no tool is withheld; nothing to approve.", new JsonObject { ["action"] = "approve", ["ok"] = true, ["approved"] = new JsonArray() });
        }

        if (name is null)
        {
            return Error("manage approve: 'name' is required: the server whose changed tools to approve, or 'all'. Optional 'tool' approves one tool. proxy_status lists what is withheld.");
        }

        var approved = pins.Approve(name, tool);
        if (approved.Count == 0)
        {
            return Error($"manage approve: nothing withheld matches server '{name}'{(tool is null ? "" : $" and tool '{tool}'")}. Withheld now: {string.Join(", ", pins.Pending.Select(c => $"{c.Server}/{c.Tool}"))}.");
        }

        registry.Rebuild();
        var list = new JsonArray([.. approved.Select(c => new JsonObject { ["server"] = c.Server, ["tool"] = c.Tool })]);
        return Ok(
            $"Approved and pinned the new definition of {approved.Count} tool(s): {string.Join(", ", approved.Select(c => $"{c.Server}/{c.Tool}"))}. They are served again.",
            new JsonObject { ["action"] = "approve", ["ok"] = true, ["approved"] = list });
    }

    private CallToolResult Ok(string text, JsonObject structured) => new()
    {
        Content = [new TextContentBlock { Text = Scrub(text) }],
        StructuredContent = Scrub(structured),
    };

    private CallToolResult Error(string message) => new()
    {
        Content = [new TextContentBlock { Text = Scrub(message) }],
        StructuredContent = Scrub(new JsonObject { ["ok"] = false, ["error"] = message }),
        IsError = true,
    };

    private string Scrub(string text) => secrets?.Scrub(text) ?? text;

    private JsonElement Scrub(JsonObject structured)
    {
        var json = structured.ToJsonString();
        return JsonElement.Parse(Scrub(json));
    }
}
