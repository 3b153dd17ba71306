using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using McpMultiProxy.Tests.Infrastructure;
using ModelContextProtocol.Client;
using Xunit;
using Xunit.Abstractions;
using static McpMultiProxy.Tests.Infrastructure.McpTestClient;

namespace McpMultiProxy.Tests.Security;

/// <summary>
/// Item 6: malformed JSON-RPC from clients (HTTP and stdio) and from a backend, in bounded fuzz loops; the proxy
/// answers with JSON-RPC errors or drops the message, never crashes, keeps serving everyone, and its memory
/// stays bounded (RSS before and after is printed).
/// </summary>
public sealed class HostileInputTests(ITestOutputHelper output)
{
    /// <summary>Upper bounds of each loop: however slow the machine, a loop stops after this long.</summary>
    private static readonly TimeSpan LoopTime = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Memory the proxy may gain between the last two rounds of the corpus. The garbage collector keeps some of what
    /// the first rounds allocated (RSS rarely shrinks); bounded means it levels off instead of growing with input.
    /// </summary>
    private const long MaxGrowthPerRoundMiB = 64;

    /// <summary>Rounds of the corpus per side.</summary>
    private const int Rounds = 3;

    /// <summary>
    /// The proxies under fuzz run with a 512 MiB heap limit: memory that the proxy kept (a leak, an unbounded read)
    /// would then end in an out-of-memory crash, while garbage it merely has not collected yet does not.
    /// </summary>
    private static readonly Dictionary<string, string?> HeapLimit = new() { ["DOTNET_GCHeapHardLimit"] = "0x20000000" };

    [Fact]
    public async Task HttpClients_MalformedMessages_RefusedWithoutCrashAndEveryoneKeepsBeingServed()
    {
        using var cts = new CancellationTokenSource(TestTimeout * 4);
        using var temp = new TempDirectory();
        await using var proxy = await ProxyProcess.StartHttpAsync(["--config", Config(temp)], HeapLimit, cts.Token);
        await using var bystander = await proxy.ConnectAsync(new McpClientOptions { ProtocolVersion = "2025-11-25" }, cancellationToken: cts.Token);
        await ToolSurfaceTests.WaitForToolsAsync(bystander, ["b__echo"], cts.Token);
        var session = await OpenRawSessionAsync(proxy.Url!);
        var before = RssMiB(proxy.Pid);

        var cases = MalformedMessages.Build(mutations: 200);
        var statuses = new ConcurrentDictionary<int, int>();
        var tried = 0;
        var clock = Stopwatch.StartNew();
        var rss = new List<long>();
        for (var round = 0; round < Rounds; round++)
        {
            foreach (var (name, bytes) in cases.Concat([("oversized 100 MiB", new byte[100 * 1024 * 1024])]))
            {
                foreach (var headers in new[] { Array.Empty<(string, string)>(), [("Mcp-Session-Id", session), ("MCP-Protocol-Version", "2025-11-25")] })
                {
                    if (clock.Elapsed > LoopTime)
                    {
                        break;
                    }

                    tried++;
                    var status = await PostAndCheckAsync(proxy.Url!, bytes, headers, name);
                    statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
                }
            }

            rss.Add(RssMiB(proxy.Pid));
        }

        var after = rss[^1];
        var echo = await bystander.CallToolAsync("b__echo", Args(("text", "still here")), cancellationToken: cts.Token);
        await using var newcomer = await proxy.ConnectAsync(new McpClientOptions { ProtocolVersion = "2025-11-25" }, cancellationToken: cts.Token);
        var again = await newcomer.CallToolAsync("b__echo", Args(("text", "new")), cancellationToken: cts.Token);

        output.WriteLine($"HTTP client side: {tried} malformed requests ({cases.Count + 1} messages x without/with a session x {Rounds} rounds) in {clock.Elapsed.TotalSeconds:0.0} s; " +
            $"statuses {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}x{s.Value}"))}; proxy RSS {before} MiB before, {string.Join(" / ", rss)} MiB after each round");
        Assert.False(proxy.Process.HasExited);
        Assert.Equal("b: still here", Text(echo));
        Assert.Equal("b: new", Text(again));
        AssertBounded(before, rss);
    }

    [Fact]
    public async Task StdioClient_MalformedLines_AnsweredOrDroppedAndTheSessionKeepsWorking()
    {
        using var cts = new CancellationTokenSource(TestTimeout * 4);
        using var temp = new TempDirectory();
        await using var proxy = ChildProcess.Start(TestPaths.DotNetHost, [TestPaths.ProxyDll, "--stdio", "--config", Config(temp)], HeapLimit, stdoutIsProtocol: true);
        await using var peer = new RawStdioPeer(proxy);
        await peer.RequestAsync("init", "initialize", """{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}""", cts.Token);
        await peer.WriteLineAsync("""{"jsonrpc":"2.0","method":"notifications/initialized"}"""u8.ToArray());
        await WaitForEchoAsync(peer, cts.Token);
        var before = RssMiB(proxy.Pid);

        var cases = MalformedMessages.Build(mutations: 200);
        var tried = 0;
        var clock = Stopwatch.StartNew();
        var rss = new List<long>();
        for (var round = 0; round < Rounds; round++)
        {
            foreach (var (name, bytes) in cases.Append(("endless 100 MiB line", new byte[100 * 1024 * 1024])))
            {
                if (clock.Elapsed > LoopTime)
                {
                    break;
                }

                tried++;
                await peer.WriteLineAsync(bytes);
                if (tried % 25 == 0)
                {
                    // Still answering, within the loop too.
                    await peer.RequestAsync($"probe-{tried}", "ping", "{}", cts.Token);
                }
            }

            await peer.RequestAsync($"round-{round}", "ping", "{}", cts.Token);
            rss.Add(RssMiB(proxy.Pid));
        }

        var echo = await peer.RequestAsync("final", "tools/call", """{"name":"b__echo","arguments":{"text":"still here"}}""", cts.Token);

        output.WriteLine($"stdio client side: {tried} malformed lines ({cases.Count + 1} x {Rounds} rounds) in {clock.Elapsed.TotalSeconds:0.0} s; {peer.ErrorsReceived} JSON-RPC errors answered; " +
            $"proxy RSS {before} MiB before, {string.Join(" / ", rss)} MiB after each round");
        Assert.False(proxy.HasExited);
        Assert.True(echo.TryGetProperty("result", out _), $"the final call failed: {echo}");
        Assert.Equal("b: still here", echo.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Contains(proxy.StderrLines, l => l.Contains("was cut and dropped", StringComparison.Ordinal));
        AssertBounded(before, rss);
    }

    [Fact]
    public async Task Backend_MalformedMessages_DroppedAndTheProxyKeepsServing()
    {
        using var cts = new CancellationTokenSource(TestTimeout * 6);
        using var temp = new TempDirectory();
        await using var proxy = await StartStdioProxyAsync(temp, cts.Token);
        var client = proxy.Client!;
        var before = RssMiB(proxy.Pid);

        // Tool arguments travel through the proxy's own client limit (4 MiB a line): big cases are made by the backend itself.
        var cases = MalformedMessages.Build(mutations: 200).Where(c => c.Bytes.Length < 512 * 1024).ToList();
        var tried = 0;
        var retried = 0;
        var clock = Stopwatch.StartNew();
        var rss = new List<long>();
        for (var round = 0; round < Rounds; round++)
        {
            foreach (var batch in cases.Chunk(20))
            {
                if (clock.Elapsed > LoopTime)
                {
                    break;
                }

                await client.CallToolAsync("b__emit_raw", new Dictionary<string, object?> { ["base64"] = batch.Select(c => Convert.ToBase64String(c.Bytes)).ToArray() }, cancellationToken: cts.Token);
                tried += batch.Length;
                retried += await EchoEventuallyAsync(client, cts.Token) ? 0 : 1;
            }

            rss.Add(RssMiB(proxy.Pid));
        }

        var echo = await client.CallToolAsync("b__echo", Args(("text", "still here")), cancellationToken: cts.Token);
        output.WriteLine($"stdio backend side: {tried} malformed messages ({cases.Count} x {Rounds} rounds) in {clock.Elapsed.TotalSeconds:0.0} s; " +
            $"{retried} times the next call needed a retry; proxy RSS {before} MiB before, {string.Join(" / ", rss)} MiB after each round");
        Assert.False(proxy.Process.HasExited);
        Assert.Equal("b: still here", Text(echo));
        AssertBounded(before, rss);
    }

    /// <remarks>
    /// The SDK reads a backend's line whole, however long; the proxy reads a stdio backend's stdout through
    /// <c>LineLengthLimitStream</c>, so a line longer than proxy.maxBackendMessageBytes (16 MiB) is cut and dropped.
    /// </remarks>
    [Fact]
    public async Task StdioBackend_HugeMessages_SurvivedAndTheProxyKeepsServing()
    {
        using var cts = new CancellationTokenSource(TestTimeout * 6);
        using var temp = new TempDirectory();
        await using var proxy = await StartStdioProxyAsync(temp, cts.Token);
        var client = proxy.Client!;
        var before = RssMiB(proxy.Pid);

        // Made by the backend itself: an endless junk line, and a valid log notification bigger than the limit (16 MiB).
        var clock = Stopwatch.StartNew();
        var report = new List<string>();
        foreach (var (argument, bytes) in new[] { ("junkBytes", 100 * 1024 * 1024), ("logBytes", 32 * 1024 * 1024) })
        {
            await client.CallToolAsync("b__emit_raw", new Dictionary<string, object?> { [argument] = bytes }, cancellationToken: cts.Token);
            await EchoEventuallyAsync(client, cts.Token);
            report.Add($"{argument} {bytes / (1024 * 1024)} MiB: RSS {RssMiB(proxy.Pid)} MiB");
        }

        output.WriteLine($"stdio backend side, huge messages in {clock.Elapsed.TotalSeconds:0.0} s: proxy RSS {before} MiB before; {string.Join("; ", report)}");
        Assert.False(proxy.Process.HasExited);
        Assert.Equal("b: ok", Text(await client.CallToolAsync("b__echo", Args(("text", "ok")), cancellationToken: cts.Token)));
    }

    [Fact]
    public async Task HttpBackend_HugeResponse_FailsTheCallAndMemoryStaysBounded()
    {
        using var cts = new CancellationTokenSource(TestTimeout * 6);
        await using var backend = await TestServerProcess.StartAsync("--name", "h");
        await using var proxy = await ProxyProcess.StartStdioAsync(["--servers", $"h={backend.Url}"], HeapLimit, new McpClientOptions { ProtocolVersion = "2025-11-25" }, cancellationToken: cts.Token);
        var client = proxy.Client!;
        await ToolSurfaceTests.WaitForToolsAsync(client, ["h__big"], cts.Token);
        var before = RssMiB(proxy.Pid);

        var rss = new List<long>();
        var clock = Stopwatch.StartNew();
        for (var round = 0; round < Rounds && clock.Elapsed < LoopTime; round++)
        {
            // 32 MiB of answer, over the 16 MiB limit: the call fails at once instead of filling the proxy's memory.
            var error = await Record.ExceptionAsync(() => client.CallToolAsync("h__big", Args(("kb", 32 * 1024)), cancellationToken: cts.Token).AsTask());
            Assert.IsAssignableFrom<ModelContextProtocol.McpException>(error);
            await EchoEventuallyAsync(client, cts.Token, "h__echo");
            rss.Add(RssMiB(proxy.Pid));
        }

        var small = await client.CallToolAsync("h__big", Args(("kb", 1024)), cancellationToken: cts.Token);
        output.WriteLine($"HTTP backend side: {rss.Count} responses of 32 MiB in {clock.Elapsed.TotalSeconds:0.0} s; proxy RSS {before} MiB before, {string.Join(" / ", rss)} MiB after each round");
        Assert.Equal(1024 * 1024, Text(small).Length);
        AssertBounded(before, rss);
    }

    /// <summary>The proxy in stdio mode, under the heap limit, with backend 'b' served.</summary>
    private static async Task<ProxyProcess> StartStdioProxyAsync(TempDirectory temp, CancellationToken cancellationToken)
    {
        var proxy = await ProxyProcess.StartStdioAsync(["--config", Config(temp)], HeapLimit, new McpClientOptions { ProtocolVersion = "2025-11-25" }, cancellationToken: cancellationToken);
        try
        {
            await ToolSurfaceTests.WaitForToolsAsync(proxy.Client!, ["b__echo"], cancellationToken);
            return proxy;
        }
        catch
        {
            await proxy.DisposeAsync();
            throw;
        }
    }

    /// <summary>The heap limit holds the garbage; what must not happen is growth that goes on round after round.</summary>
    private static void AssertBounded(long before, List<long> rounds)
    {
        Assert.True(rounds.Count >= 2, $"only {rounds.Count} round(s) ran within the loop's time limit: {before} MiB before, {string.Join(" / ", rounds)} MiB after");
        Assert.True(rounds.Max() < 768, $"RSS went past the heap limit: {before} MiB before, {string.Join(" / ", rounds)} MiB after each round");
        Assert.True(rounds[^1] - rounds[^2] < MaxGrowthPerRoundMiB || rounds[^1] < 600, $"RSS kept growing: {before} MiB before, {string.Join(" / ", rounds)} MiB after each round");
    }

    private static string Config(TempDirectory temp) => temp.WriteFile("mcp.json", new JsonObject
    {
        ["mcpServers"] = new JsonObject
        {
            ["b"] = new JsonObject
            {
                ["command"] = TestServerCommand.Command,
                ["args"] = new JsonArray([.. TestServerCommand.Arguments("--name", "b").Select(a => JsonValue.Create(a))]),
            },
        },
    }.ToJsonString());

    /// <summary>Resident memory of a process, in MiB.</summary>
    private static long RssMiB(int pid)
    {
        using var process = Process.GetProcessById(pid);
        process.Refresh();
        return process.WorkingSet64 / (1024 * 1024);
    }

    /// <summary>POSTs one malformed body; any answer but a server error (or a dropped connection) is fine.</summary>
    private static async Task<int> PostAndCheckAsync(Uri url, byte[] body, (string, string)[] headers, string name)
    {
        HttpResponseMessage response;
        try
        {
            response = await RawHttp.PostAsync(url, body, headers);
        }
        catch (HttpRequestException ex)
        {
            throw new Xunit.Sdk.XunitException($"{name}: the request failed ({ex.Message})");
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(status < 500, $"{name}: status {status}: {text}");
            if (status == 400)
            {
                Assert.Contains("\"jsonrpc\"", text, StringComparison.Ordinal);
            }

            return status;
        }
    }

    private static async Task<string> OpenRawSessionAsync(Uri url)
    {
        using var response = await RawHttp.PostAsync(url, RawHttp.Initialize);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var session = Assert.Single(response.Headers.GetValues("Mcp-Session-Id"));
        using var initialized = await RawHttp.PostAsync(url, """{"jsonrpc":"2.0","method":"notifications/initialized"}""", [("Mcp-Session-Id", session), ("MCP-Protocol-Version", "2025-11-25")]);
        return session;
    }

    private static async Task WaitForEchoAsync(RawStdioPeer peer, CancellationToken cancellationToken)
    {
        for (var i = 0; ; i++)
        {
            var tools = await peer.RequestAsync($"list-{i}", "tools/list", "{}", cancellationToken);
            if (tools.GetProperty("result").GetProperty("tools").EnumerateArray().Any(t => t.GetProperty("name").GetString() == "b__echo"))
            {
                return;
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>Calls b__echo until it answers (a backend session killed by garbage is rebuilt); false when it needed more than one try.</summary>
    private static async Task<bool> EchoEventuallyAsync(McpClient client, CancellationToken cancellationToken, string tool = "b__echo")
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var result = await client.CallToolAsync(tool, Args(("text", "ok")), cancellationToken: cancellationToken);
                if (result.IsError != true)
                {
                    return attempt == 0;
                }
            }
            catch (ModelContextProtocol.McpException) when (!cancellationToken.IsCancellationRequested)
            {
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>A hand-driven stdio client: raw lines in, JSON-RPC responses out, matched by string ids.</summary>
    private sealed class RawStdioPeer : IAsyncDisposable
    {
        private readonly ChildProcess _process;
        private readonly ConcurrentDictionary<string, TaskCompletionSource<JsonElement>> _pending = new();
        private readonly Task _reader;
        private int _errors;

        public RawStdioPeer(ChildProcess process)
        {
            _process = process;
            _reader = Task.Run(ReadAsync);
        }

        public int ErrorsReceived => Volatile.Read(ref _errors);

        public async Task WriteLineAsync(byte[] line)
        {
            await _process.StandardInput.WriteAsync(line);
            await _process.StandardInput.WriteAsync("\n"u8.ToArray());
            await _process.StandardInput.FlushAsync();
        }

        public async Task<JsonElement> RequestAsync(string id, string method, string parameters, CancellationToken cancellationToken)
        {
            var answer = _pending.GetOrAdd(id, _ => new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously));
            await WriteLineAsync(Encoding.UTF8.GetBytes($$"""{"jsonrpc":"2.0","id":"{{id}}","method":"{{method}}","params":{{parameters}}}"""));

            // The reader ending first means the proxy wrote a line that is not JSON (it throws) or closed its output.
            if (await Task.WhenAny(answer.Task, _reader).WaitAsync(TestTimeout, cancellationToken) == _reader)
            {
                await _reader;
                throw new InvalidOperationException($"the proxy closed its output before answering '{id}'");
            }

            return await answer.Task;
        }

        public async ValueTask DisposeAsync()
        {
            _process.CloseStandardInput();
            await Task.WhenAny(_reader, Task.Delay(TimeSpan.FromSeconds(5)));
            if (_reader.IsFaulted)
            {
                // A line that was not JSON after the last answer still fails the test.
                await _reader;
            }
        }

        private async Task ReadAsync()
        {
            using var reader = new StreamReader(_process.StandardOutput, Encoding.UTF8);
            while (await reader.ReadLineAsync() is { } line)
            {
                JsonElement message;
                try
                {
                    message = JsonElement.Parse(line);
                }
                catch (JsonException)
                {
                    throw new InvalidOperationException($"the proxy wrote a line that is not JSON on its protocol channel: {line[..Math.Min(200, line.Length)]}");
                }

                if (message.TryGetProperty("error", out _))
                {
                    Interlocked.Increment(ref _errors);
                }

                if (message.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String && _pending.TryGetValue(id.GetString()!, out var waiter))
                {
                    waiter.TrySetResult(message);
                }
            }
        }
    }
}
