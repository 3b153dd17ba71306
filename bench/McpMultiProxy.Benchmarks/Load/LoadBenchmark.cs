using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using McpMultiProxy.Benchmarks.Server;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace McpMultiProxy.Benchmarks.Load;

/// <summary>
/// The load benchmark: the published proxy as a child process, the benchmark's fast backend as another, and the
/// same calls made directly (SDK client → backend) and through the proxy (SDK client → proxy HTTP → backend),
/// in alternating rounds of one run. Prints every figure against its target.
/// </summary>
internal sealed class LoadBenchmark(Settings settings, string proxyCommand)
{
    /// <summary>The proxy prints this on stderr before the URL of its MCP endpoint.</summary>
    private const string EndpointMarker = "MCP endpoint: ";
    private const string ProtocolVersion = "2025-11-25";

    private static readonly Dictionary<string, object?> EchoArgs = new() { ["text"] = "hello" };
    private static readonly Dictionary<string, object?> MiBArgs = new() { ["kb"] = 1024 };
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Report _report = new();

    public async Task<Report> RunAsync()
    {
        await using var backend = Child.Start(SelfCommand.Command, [.. SelfCommand.Prefix, "backend", "--http"]);
        var backendUrl = await backend.WaitForLineAsync(FastBackend.ListeningMarker, StartTimeout);

        Console.Error.WriteLine("== calls, HTTP backend");
        await CallsAsync(
            "HTTP backend",
            () => HttpClientAsync(backendUrl),
            ["--servers", $"b={backendUrl}"],
            full: true,
            backend);

        Console.Error.WriteLine("== calls, stdio backend");
        var config = WriteConfig(new Dictionary<string, object>
        {
            ["b"] = new Dictionary<string, object> { ["command"] = SelfCommand.Command, ["args"] = (string[])[.. SelfCommand.Prefix, "backend"] },
        });
        try
        {
            await CallsAsync("stdio backend", StdioClientAsync, ["--config", config], full: false);
        }
        finally
        {
            File.Delete(config);
        }

        Console.Error.WriteLine("== start-up and idle memory, 10 HTTP backends");
        await StartupAsync(backendUrl, 10);

        Console.Error.WriteLine("== tools/list");
        await ListAsync(backendUrl);

        return _report;
    }

    /// <summary>Calls <paramref name="tool"/> at <paramref name="url"/> for a while and prints the rate: load to profile under.</summary>
    public static async Task<int> DriveAsync(string url, string tool, double seconds, int workers)
    {
        await using var client = await HttpClientAsync(url);
        if (tool == RequestMethods.ToolsList)
        {
            var times = await TimeListsAsync(client, (int)(seconds * 100));
            var q = Stats.Percentiles(times, 50, 99);
            var served = Stats.Percentiles(await TimeRawListsAsync(new Uri(url), (int)(seconds * 100)), 50, 99);
            Console.WriteLine($"tools/list served: p50 {served[0]:0.000} ms, p99 {served[1]:0.000} ms; parsed by the SDK client: p50 {q[0]:0.000} ms, p99 {q[1]:0.000} ms");
            return 0;
        }

        var args = tool.EndsWith("big", StringComparison.Ordinal) ? MiBArgs : EchoArgs;
        var sample = await Workload.RunAsync(new Side("drive", [client], tool, null), args, workers, TimeSpan.FromSeconds(seconds), int.MaxValue);
        var sq = sample.Percentiles(50, 99);
        Console.WriteLine($"{sample.Calls} calls in {sample.Seconds:0.00} s: {sample.Rate:0} calls/s, p50 {sq[0]:0.000} ms, p99 {sq[1]:0.000} ms");
        return 0;
    }

    /// <param name="backend">The backend's process when the benchmark started it (HTTP): its CPU per direct call is printed beside the proxy's.</param>
    private async Task CallsAsync(string label, Func<Task<McpClient>> direct, string[] proxyArgs, bool full, Child? backend = null)
    {
        await using var proxy = await StartProxyAsync(proxyArgs, 1);
        var directClients = new List<McpClient>();
        var proxyClients = new List<McpClient>();
        try
        {
            for (var i = 0; i < 8; i++)
            {
                directClients.Add(await direct());
                proxyClients.Add(await HttpClientAsync(proxy.Url));
            }

            // The build under test must be whole, not just fast: the proxy's own tools exercise its JSON (which
            // NativeAOT would break if any of it needed reflection).
            var status = await proxyClients[0].CallToolAsync("proxy_status", new Dictionary<string, object?>());
            if (status.IsError == true || status.StructuredContent is null)
            {
                throw new InvalidOperationException($"proxy_status failed on the proxy under test: {string.Join(' ', status.Content.OfType<TextContentBlock>().Select(c => c.Text))}");
            }

            var d1 = new Side("direct", directClients[..1], "echo", backend);
            var p1 = new Side("proxy", proxyClients[..1], "b__echo", proxy.Process);
            var d8 = d1 with { Clients = directClients };
            var p8 = p1 with { Clients = proxyClients };

            var (sd, sp) = await Workload.CompareAsync(d1, p1, EchoArgs, 1, settings, weight: 2);
            _report.Ratio($"sequential calls/s, {label}", sd.Rate, sp.Rate, "calls/s", 0.85);
            var (dq, pq) = (sd.Percentiles(50, 99), sp.Percentiles(50, 99));
            _report.AddedLatency(
                $"added p99 latency, sequential, {label}", pq[1] - dq[1], 1.0,
                $"p50 {dq[0]:0.000} / p99 {dq[1]:0.000} ms", $"p50 {pq[0]:0.000} / p99 {pq[1]:0.000} ms");
            _report.AtMost($"proxy CPU per call, sequential, {label}", sp.Cpu.TotalMilliseconds / sp.Calls, "ms", 0.3);
            _report.Info($"proxy thread wake-ups per call, sequential, {label}", $"{(double)sp.Switches / sp.Calls:0.0}");
            if (backend is not null)
            {
                // A yardstick for the proxy's CPU: the backend is an SDK server over Kestrel answering from memory (a
                // JIT build), the same server stack as the proxy's front end, which also makes the call onwards.
                _report.Info($"backend CPU per direct call, sequential, {label}", Report.F(sd.Cpu.TotalMilliseconds / sd.Calls, "ms"));
            }

            var (id, ip) = await Workload.CompareAsync(d1, p1, EchoArgs, 8, settings);
            _report.Ratio($"8 in flight on one session, {label}", id.Rate, ip.Rate, "calls/s", 0.80);
            _report.Info($"proxy CPU per call, 8 in flight, {label}", Report.F(ip.Cpu.TotalMilliseconds / ip.Calls, "ms"));

            var (md, mp) = await Workload.CompareAsync(d8, p8, EchoArgs, 8, settings);
            _report.Ratio($"8 sessions, {label}", md.Rate, mp.Rate, "calls/s", 0.85);

            if (full)
            {
                var (bd, bp) = await Workload.CompareAsync(d1 with { Tool = "big" }, p1 with { Tool = "b__big" }, MiBArgs, 1, settings with { MaxCallsPerRound = Math.Min(settings.MaxCallsPerRound, 2000) });
                _report.Add(new Figure(
                    $"1 MiB results, sequential, {label}", Report.F(bd.Rate, "MiB/s"), Report.F(bp.Rate, "MiB/s"), $"{bp.Rate / bd.Rate:0.00}×", "", null));
                _report.Info(
                    $"proxy memory peak (VmHWM) after the calls above, {label}",
                    Report.F(proxy.Process.StatusKiB("VmHWM") / 1024.0, "MiB"));
            }
        }
        finally
        {
            foreach (var c in directClients.Concat(proxyClients))
            {
                await c.DisposeAsync();
            }
        }
    }

    private async Task StartupAsync(string backendUrl, int backends)
    {
        var times = new List<double>();
        var endpoint = new List<double>();
        var rss = 0.0;
        var split = "";
        for (var i = 0; i < settings.StartRepeats; i++)
        {
            await using var proxy = await StartProxyAsync(ServersArgs(backendUrl, backends), backends);
            times.Add(proxy.ServedAfterMs);
            endpoint.Add(proxy.EndpointAfterMs);
            if (i == settings.StartRepeats - 1)
            {
                await Task.Delay(TimeSpan.FromSeconds(settings.IdleSeconds));
                rss = proxy.Process.StatusKiB("VmRSS") / 1024.0;
                split = $"anonymous {proxy.Process.StatusKiB("RssAnon") / 1024.0:0.0} MiB, mapped from files {proxy.Process.StatusKiB("RssFile") / 1024.0:0.0} MiB";
            }
        }

        _report.AtMost(
            $"start until all tools served, {backends} HTTP backends (median of {times.Count})", Stats.Median(times), "ms", 150,
            proxy: $"min {times.Min():0} / max {times.Max():0} ms; endpoint printed after {Stats.Median(endpoint):0} ms");
        // Idle is measured after the proxy's first quiet check (IdleTrimmer: every 5 s), where it gives memory back.
        _report.AtMost($"idle memory (RSS), {backends} backends, proxy process", rss, "MiB", 40, proxy: $"{settings.IdleSeconds:0} s after all tools were served; {split}");
    }

    private async Task ListAsync(string backendUrl)
    {
        await using (var direct = await HttpClientAsync(backendUrl))
        {
            var times = await TimeListsAsync(direct, settings.ListCalls);
            var served = await TimeRawListsAsync(new Uri(backendUrl), settings.ListCalls);
            _report.Info($"tools/list p50 served, direct, 1 backend × {FastBackend.ToolCount} tools", Report.F(Stats.Median(served), "ms"),
                proxy: $"parsed by the SDK client: p50 {Stats.Median(times):0.000} ms");
        }

        foreach (var n in (int[])[1, 10, 50])
        {
            await using var proxy = await StartProxyAsync(ServersArgs(backendUrl, n), n);
            await using var client = await HttpClientAsync(proxy.Url);
            var times = await TimeListsAsync(client, settings.ListCalls);
            var served = await TimeRawListsAsync(new Uri(proxy.Url), settings.ListCalls);
            var servedQ = Stats.Percentiles(served, 50, 99);
            var p50 = servedQ[0];
            var tools = $"{n} backend{(n == 1 ? "" : "s")} × {FastBackend.ToolCount} tools";

            // Served: every page's bytes read off the wire (what the proxy costs). Parsed: the same through the SDK
            // client, which also builds its protocol objects (what an SDK client waits in all).
            var detail = $"p99 {servedQ[1]:0.000} ms; parsed by the SDK client: p50 {Stats.Median(times):0.000} ms";
            if (n == 50)
            {
                _report.AtMost($"tools/list p50 served, {tools}", p50, "ms", 2.0, proxy: detail);
            }
            else
            {
                _report.Info($"tools/list p50 served, {tools}", Report.F(p50, "ms"), proxy: detail);
            }
        }
    }

    /// <summary>Times complete listings (every page), each parsed into the SDK's protocol types as a client would.</summary>
    private static async Task<List<double>> TimeListsAsync(McpClient client, int count)
    {
        for (var i = 0; i < Math.Max(5, count / 10); i++)
        {
            await ListAllToolsAsync(client);
        }

        var times = new List<double>(count);
        for (var i = 0; i < count; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            await ListAllToolsAsync(client);
            times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }

        return times;
    }

    /// <summary>
    /// Times complete listings over raw HTTP: initialize once, then POST tools/list for every page and read each
    /// answer to its end; the next cursor is found in the bytes, nothing else is parsed.
    /// </summary>
    private static async Task<List<double>> TimeRawListsAsync(Uri url, int count)
    {
        using var http = new HttpClient();
        async Task<(byte[] Body, string? Session)> PostAsync(string json, string? session)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
            request.Headers.Accept.ParseAdd("application/json");
            request.Headers.Accept.ParseAdd("text/event-stream");
            request.Headers.Add("MCP-Protocol-Version", ProtocolVersion);
            if (session is not null)
            {
                request.Headers.Add("Mcp-Session-Id", session);
            }

            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            response.EnsureSuccessStatusCode();
            var body = await response.Content.ReadAsByteArrayAsync();
            return (body, response.Headers.TryGetValues("Mcp-Session-Id", out var values) ? values.First() : session);
        }

        var (_, session) = await PostAsync($$$$"""{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"{{{{ProtocolVersion}}}}","capabilities":{},"clientInfo":{"name":"bench-raw","version":"1"}}}""", null);
        await PostAsync("""{"jsonrpc":"2.0","method":"notifications/initialized"}""", session);
        var marker = "\"nextCursor\":\""u8.ToArray();
        async Task ListAllAsync()
        {
            string? cursor = null;
            for (var page = 0; page < 100; page++)
            {
                var parameters = cursor is null ? "{}" : $$"""{"cursor":"{{cursor}}"}""";
                var (body, _) = await PostAsync($$"""{"jsonrpc":"2.0","id":{{page + 1}},"method":"tools/list","params":{{parameters}}}""", session);
                var at = body.AsSpan().IndexOf(marker);
                if (at < 0)
                {
                    return;
                }

                var rest = body.AsSpan(at + marker.Length);
                cursor = System.Text.Encoding.UTF8.GetString(rest[..rest.IndexOf((byte)'"')]);
            }
        }

        for (var i = 0; i < Math.Max(5, count / 10); i++)
        {
            await ListAllAsync();
        }

        var times = new List<double>(count);
        for (var i = 0; i < count; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            await ListAllAsync();
            times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }

        return times;
    }

    private static async Task<List<Tool>> ListAllToolsAsync(McpClient client)
    {
        var all = new List<Tool>();
        string? cursor = null;
        for (var page = 0; page < 100; page++)
        {
            var result = await client.SendRequestAsync<ListToolsRequestParams, ListToolsResult>(
                RequestMethods.ToolsList, new ListToolsRequestParams { Cursor = cursor }, McpJsonUtilities.DefaultOptions);
            all.AddRange(result.Tools);
            cursor = result.NextCursor;
            if (cursor is null)
            {
                break;
            }
        }

        return all;
    }

    private static string[] ServersArgs(string backendUrl, int backends) =>
        ["--servers", string.Join(',', Enumerable.Range(0, backends).Select(i => $"b{i:00}={backendUrl}"))];

    /// <summary>
    /// Starts the proxy on a free port and waits until it serves every backend's tools. Several "backends" may
    /// point at the same fast backend process: the proxy holds a session per name either way.
    /// </summary>
    private async Task<RunningProxy> StartProxyAsync(IEnumerable<string> args, int backends)
    {
        var process = Child.Start(proxyCommand, ["--http", "127.0.0.1:0", .. args]);
        try
        {
            var url = await process.WaitForLineAsync(EndpointMarker, StartTimeout);
            var endpointAfter = Stopwatch.GetElapsedTime(process.StartedAt).TotalMilliseconds;
            await using var client = await HttpClientAsync(url);
            var deadline = Stopwatch.GetTimestamp() + (long)(StartTimeout.TotalSeconds * Stopwatch.Frequency);
            var expected = backends * FastBackend.ToolCount;
            while (true)
            {
                var tools = await ListAllToolsAsync(client);
                if (tools.Count(t => t.Name.Contains("__", StringComparison.Ordinal)) >= expected)
                {
                    break;
                }

                if (Stopwatch.GetTimestamp() > deadline)
                {
                    throw new InvalidOperationException($"the proxy served {tools.Count} tools after {StartTimeout}, expected {expected} from backends:\n  {string.Join("\n  ", process.Lines.TakeLast(30))}");
                }

                await Task.Delay(1);
            }

            return new RunningProxy(process, url, endpointAfter, Stopwatch.GetElapsedTime(process.StartedAt).TotalMilliseconds);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    private static McpClientOptions ClientOptions() => new()
    {
        ClientInfo = new Implementation { Name = "mcp-multiproxy-bench", Version = "1.0" },
        ProtocolVersion = ProtocolVersion,
    };

    private static async Task<McpClient> HttpClientAsync(string url) =>
        await McpClient.CreateAsync(
            new HttpClientTransport(new HttpClientTransportOptions { Endpoint = new Uri(url), TransportMode = HttpTransportMode.StreamableHttp }),
            ClientOptions());

    private static async Task<McpClient> StdioClientAsync() =>
        await McpClient.CreateAsync(
            new StdioClientTransport(new StdioClientTransportOptions
            {
                Name = "direct",
                Command = SelfCommand.Command,
                Arguments = [.. SelfCommand.Prefix, "backend"],
                ShutdownTimeout = TimeSpan.FromSeconds(2),
            }),
            ClientOptions());

    private static string WriteConfig(Dictionary<string, object> servers)
    {
        var path = Path.Combine(Path.GetTempPath(), $"mcp-multiproxy-bench-{Environment.ProcessId}.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new Dictionary<string, object> { ["mcpServers"] = servers }));
        return path;
    }

    /// <summary>A started proxy: its process, endpoint, and how long it took to print the endpoint and to serve every tool.</summary>
    private sealed record RunningProxy(Child Process, string Url, double EndpointAfterMs, double ServedAfterMs) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Process.DisposeAsync();
    }
}

/// <summary>How to start this program again (for the backend subcommand): the apphost, or <c>dotnet</c> with this assembly.</summary>
internal static class SelfCommand
{
    public static string Command { get; } = Environment.ProcessPath ?? "dotnet";

    public static string[] Prefix { get; } =
        Path.GetFileNameWithoutExtension(Command) == "dotnet" ? [Assembly.GetEntryAssembly()!.Location] : [];
}
