using System.Collections.Concurrent;
using System.Net;
using System.Text;
using McpMultiProxy.Tests.Infrastructure;
using Xunit;

namespace McpMultiProxy.Tests.Admin;

/// <summary>Traces and metrics leave over OTLP when (and only because) the standard OTEL_* variables say so.</summary>
public sealed class TracingTests
{
    [Fact]
    public async Task ProxiedCall_WithOtlpEndpointSet_ExportsASpanWithBackendAndTool()
    {
        using var cts = new CancellationTokenSource(McpTestClient.TestTimeout * 2);
        using var collector = new OtlpCollector();
        await using var alpha = await TestServerProcess.StartAsync("--name", "alpha");
        await using var proxy = await ProxyProcess.StartHttpAsync(
            ["--servers", $"alpha={alpha.Url}"],
            new Dictionary<string, string?>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Url,
                ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
                ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
                ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
                ["OTEL_SERVICE_NAME"] = "proxy-under-test",
            },
            cts.Token);
        using var api = new AdminApiClient(proxy);
        await api.WaitForStateAsync("alpha", "healthy");
        using var call = await api.Http.PostAsync("/api/tools/call", new StringContent("""{"name": "alpha__echo", "arguments": {"text": "traced"}}""", Encoding.UTF8, "application/json"), cts.Token);
        Assert.Equal(HttpStatusCode.OK, call.StatusCode);

        // OTLP/protobuf carries strings as plain UTF-8: the span's name and tag values can be found in the body.
        var traces = await collector.WaitForAsync("/v1/traces", "tools/call echo", cts.Token);
        Assert.Contains("proxy-under-test", traces, StringComparison.Ordinal);
        Assert.Contains("alpha", traces, StringComparison.Ordinal);
        Assert.Contains("McpMultiProxy", traces, StringComparison.Ordinal);
        var metrics = await collector.WaitForAsync("/v1/metrics", "mcpproxy.call.duration", cts.Token);
        Assert.Contains("mcpproxy.backend.state", metrics, StringComparison.Ordinal);
    }

    /// <summary>A minimal OTLP/HTTP receiver on loopback: accepts every export and keeps the bodies by path.</summary>
    private sealed class OtlpCollector : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly ConcurrentQueue<(string Path, string Body)> _received = new();
        private readonly Task _loop;

        public OtlpCollector()
        {
            var port = FreePort.Get();
            Url = $"http://127.0.0.1:{port}";
            _listener.Prefixes.Add(Url + "/");
            _listener.Start();
            _loop = Task.Run(AcceptAsync);
        }

        public string Url { get; }

        public async Task<string> WaitForAsync(string path, string text, CancellationToken cancellationToken)
        {
            while (true)
            {
                if (_received.FirstOrDefault(r => r.Path == path && r.Body.Contains(text, StringComparison.Ordinal)) is { Body: { } body })
                {
                    return body;
                }

                try
                {
                    await Task.Delay(100, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    throw new TimeoutException($"no OTLP export to {path} contained '{text}'; received: {string.Join(", ", _received.Select(r => $"{r.Path} ({r.Body.Length} bytes)"))}");
                }
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            _loop.Wait(TimeSpan.FromSeconds(5));
        }

        private async Task AcceptAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                _received.Enqueue((context.Request.Url!.AbsolutePath, Encoding.UTF8.GetString(body.ToArray())));
                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/x-protobuf";
                context.Response.Close();
            }
        }
    }
}
