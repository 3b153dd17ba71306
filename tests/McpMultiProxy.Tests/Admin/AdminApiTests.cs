using System.Net;
using System.Text.Json.Nodes;
using McpMultiProxy.Tests.Infrastructure;
using ModelContextProtocol.Client;
using Xunit;
using static McpMultiProxy.Tests.Infrastructure.McpTestClient;

namespace McpMultiProxy.Tests.Admin;

/// <summary>The admin API through real HTTP, against a real proxy process with mcp-testserver backends.</summary>
public sealed class AdminApiTests
{
    [Fact]
    public async Task AddDisableEnableRemove_ThroughTheApi_ShowsInMcpClientsAndManageAtOnce()
    {
        using var cts = new CancellationTokenSource(TestTimeout * 2);
        await using var alpha = await TestServerProcess.StartAsync("--name", "alpha");
        await using var proxy = await ProxyProcess.StartHttpAsync([], cts.Token);
        using var api = new AdminApiClient(proxy);
        await using var client = await proxy.ConnectAsync(cancellationToken: cts.Token);

        var (addStatus, added) = await api.PostAsync("/api/backends", new { name = "alpha", url = alpha.Url.ToString() });
        Assert.Equal(HttpStatusCode.Created, addStatus);
        Assert.Equal("alpha", added!["name"]!.GetValue<string>());
        await api.WaitForStateAsync("alpha", "healthy");

        var (_, tools) = await api.GetAsync("/api/backends/alpha/tools");
        var echo = tools!.AsArray().Single(t => t!["name"]!.GetValue<string>() == "alpha__echo");
        Assert.Equal("echo", echo!["originalName"]!.GetValue<string>());
        Assert.Contains(await client.ListToolsAsync(cancellationToken: cts.Token), t => t.Name == "alpha__echo");
        var listed = await client.CallToolAsync("manage", Args(("action", "list")), cancellationToken: cts.Token);
        Assert.Contains("alpha: healthy", Text(listed), StringComparison.Ordinal);

        var (disableStatus, _) = await api.PostAsync("/api/backends/alpha/disable");
        Assert.Equal(HttpStatusCode.OK, disableStatus);
        Assert.Equal("disabled", (await api.GetAsync("/api/backends/alpha")).Body!["state"]!.GetValue<string>());
        Assert.DoesNotContain(await client.ListToolsAsync(cancellationToken: cts.Token), t => t.Name == "alpha__echo");

        var (enableStatus, _) = await api.PostAsync("/api/backends/alpha/enable");
        Assert.Equal(HttpStatusCode.OK, enableStatus);
        await api.WaitForStateAsync("alpha", "healthy");
        Assert.Contains(await client.ListToolsAsync(cancellationToken: cts.Token), t => t.Name == "alpha__echo");

        var (checkStatus, check) = await api.PostAsync("/api/backends/alpha/check");
        Assert.Equal(HttpStatusCode.OK, checkStatus);
        Assert.True(check!["servers"]![0]!["check"]![0]!["ok"]!.GetValue<bool>());

        var (removeStatus, _) = await api.DeleteAsync("/api/backends/alpha");
        Assert.Equal(HttpStatusCode.OK, removeStatus);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync("/api/backends/alpha")).Status);
        Assert.DoesNotContain(await client.ListToolsAsync(cancellationToken: cts.Token), t => t.Name.StartsWith("alpha__", StringComparison.Ordinal));
        var (_, events) = await api.GetAsync("/api/events");
        var kinds = events!["events"]!.AsArray()
            .Where(e => e!["backend"]?.GetValue<string>() == "alpha" && e["kind"]!.GetValue<string>() != "state")
            .Select(e => e!["kind"]!.GetValue<string>());
        Assert.Equal(["added", "disabled", "enabled", "removed"], kinds);
    }

    [Fact]
    public async Task CallTool_ThroughTheApi_AnswersLikeAnMcpCallAndCountsUsage()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        await using var alpha = await TestServerProcess.StartAsync("--name", "alpha");
        await using var proxy = await ProxyProcess.StartHttpAsync(["--servers", $"alpha={alpha.Url}"], cts.Token);
        using var api = new AdminApiClient(proxy);
        await api.WaitForStateAsync("alpha", "healthy");

        for (var i = 0; i < 3; i++)
        {
            var (status, echo) = await api.PostAsync("/api/tools/call", new { name = "alpha__echo", arguments = new { text = $"hi {i}" } });
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal($"alpha: hi {i}", echo!["result"]!["content"]![0]!["text"]!.GetValue<string>());
            Assert.True(echo["elapsedMs"]!.GetValue<double>() >= 0);
        }

        var (failStatus, failed) = await api.PostAsync("/api/tools/call", new { name = "alpha__fail", arguments = new { } });
        Assert.Equal(HttpStatusCode.OK, failStatus);
        Assert.True(failed!["result"]!["isError"]!.GetValue<bool>());

        var (throwStatus, thrown) = await api.PostAsync("/api/tools/call", new { name = "alpha__throw" });
        Assert.Equal(HttpStatusCode.BadGateway, throwStatus);
        Assert.False(string.IsNullOrEmpty(thrown!["error"]!.GetValue<string>()));

        var (_, status0) = await api.PostAsync("/api/tools/call", new { name = "proxy_status" });
        Assert.Contains("alpha [healthy]", status0!["result"]!["content"]![0]!["text"]!.GetValue<string>(), StringComparison.Ordinal);

        var (_, usage) = await api.GetAsync("/api/usage");
        var byTool = usage!["tools"]!.AsArray().ToDictionary(t => t!["tool"]!.GetValue<string>());
        Assert.Equal(3, byTool["echo"]!["calls"]!.GetValue<long>());
        Assert.Equal(0, byTool["echo"]!["failureRate"]!.GetValue<double>());
        Assert.Equal("alpha__echo", byTool["echo"]!["servedName"]!.GetValue<string>());
        Assert.Equal(1, byTool["fail"]!["failureRate"]!.GetValue<double>());
        Assert.Equal(1, byTool["throw"]!["failures"]!.GetValue<long>());
        Assert.DoesNotContain("proxy_status", byTool.Keys);

        var (_, errors) = await api.GetAsync("/api/errors");
        var messages = errors!["events"]!.AsArray().Select(e => e!["message"]!.GetValue<string>()).ToList();
        Assert.Contains(messages, m => m.StartsWith("tool 'fail':", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("tool 'throw':", StringComparison.Ordinal));
        Assert.All(errors["events"]!.AsArray(), e => Assert.Equal("callError", e!["kind"]!.GetValue<string>()));

        var (_, history) = await api.GetAsync("/api/history");
        var points = history!["backends"]!.AsArray().Single(b => b!["name"]!.GetValue<string>() == "alpha")!["points"]!.AsArray();
        Assert.Equal(5, points.Sum(p => p!["calls"]!.GetValue<int>()));
        Assert.Equal(1, points.Sum(p => p!["errors"]!.GetValue<int>()));
        Assert.All(points, p => Assert.True(p!["averageMs"]!.GetValue<double>() > 0));
    }

    [Fact]
    public async Task EventStream_DeliversChangesLive_AndResumesFromLastEventId()
    {
        using var cts = new CancellationTokenSource(TestTimeout * 2);
        await using var alpha = await TestServerProcess.StartAsync("--name", "alpha");
        await using var proxy = await ProxyProcess.StartHttpAsync([], cts.Token);
        using var api = new AdminApiClient(proxy);

        long addedId;
        using (var stream = await SseReader.OpenAsync(api.Http, "/api/events/stream", null, cts.Token))
        {
            Assert.Equal("hello", (await stream.NextAsync(cts.Token)).Type);
            await api.PostAsync("/api/backends", new { name = "alpha", url = alpha.Url.ToString() });
            var added = await stream.NextEventAsync(e => e["kind"]!.GetValue<string>() == "added", cts.Token);
            addedId = added["id"]!.GetValue<long>();
            Assert.Equal("alpha", added["backend"]!.GetValue<string>());
            var healthy = await stream.NextEventAsync(e => e["state"]?.GetValue<string>() == "healthy", cts.Token);
            Assert.Equal("alpha: starting → healthy", healthy["message"]!.GetValue<string>());
        }

        // Events that happened while disconnected are delivered first on reconnect.
        await api.PostAsync("/api/backends/alpha/disable");
        using var resumed = await SseReader.OpenAsync(api.Http, "/api/events/stream", addedId, cts.Token);
        var replayed = await resumed.NextEventAsync(e => e["kind"]!.GetValue<string>() == "disabled", cts.Token);
        Assert.True(replayed["id"]!.GetValue<long>() > addedId);
    }

    [Fact]
    public async Task Secrets_GivenAsHeaders_NeverAppearInApiAnswersOrLogs()
    {
        const string Secret = "s3cret-token-8d1f";
        using var cts = new CancellationTokenSource(TestTimeout);
        await using var alpha = await TestServerProcess.StartAsync("--name", "alpha");
        await using var proxy = await ProxyProcess.StartHttpAsync(["--log-level", "Trace"], cts.Token);
        using var api = new AdminApiClient(proxy);

        var (status, added) = await api.PostAsync("/api/backends", new
        {
            name = "alpha",
            url = $"{alpha.Url}?api_key={Secret}",
            headers = new Dictionary<string, string> { ["Authorization"] = $"Bearer {Secret}" },
        });
        Assert.Equal(HttpStatusCode.Created, status);
        await api.WaitForStateAsync("alpha", "healthy");
        await api.PostAsync("/api/tools/call", new { name = "alpha__fail" });

        var answers = new List<string> { added!.ToJsonString() };
        foreach (var path in new[] { "/api/status", "/api/backends", "/api/backends/alpha", "/api/events", "/api/errors", "/api/health", "/api/usage", "/metrics" })
        {
            answers.Add(await api.Http.GetStringAsync(path, cts.Token));
        }

        Assert.All(answers, a => Assert.DoesNotContain(Secret, a, StringComparison.Ordinal));
        Assert.Contains("\"Authorization\":\"***\"", answers[1], StringComparison.Ordinal);
        Assert.DoesNotContain(proxy.StderrLines, l => l.Contains(Secret, StringComparison.Ordinal));
    }
}
