using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using McpMultiProxy.Tests.Infrastructure;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using Xunit;
using Xunit.Abstractions;
using static McpMultiProxy.Tests.Infrastructure.McpTestClient;

namespace McpMultiProxy.Tests.Security;

/// <summary>
/// Item 3: known secret values (env and header values, URL passwords and query values, secret arguments, values
/// added through manage, the front door's token) never appear in anything the proxy prints or answers, at the
/// most verbose log level (the SDK then logs whole protocol messages), on either frontend.
/// </summary>
public sealed class SecretLeakTests(ITestOutputHelper output)
{
    /// <summary>Each secret, by where it is configured.</summary>
    private static readonly IReadOnlyDictionary<string, string> Secrets = new Dictionary<string, string>
    {
        ["env value via ${env:}"] = "env-secret-7f3a9c2e1b",
        ["literal env value"] = "literal-env-secret-6e4b0d",
        ["header value via ${env:}"] = "header-secret-5d8e2a4c9f",
        ["literal header value"] = "literal-header-secret-1a9c",
        ["URL password"] = "url-pass-secret-3c7e9a",
        ["URL query value"] = "query-secret-8b2d4f6a",
        ["secret argument"] = "args-secret-2f8d6c1e",
        ["header of an unreachable server"] = "down-header-secret-9a3f",
        ["query of an unreachable server"] = "down-query-secret-4c1e",
        ["header added through manage"] = "manage-added-secret-7d2c",
        ["front door token"] = "front-door-token-secret-0123456789",
    };

    [Theory]
    [InlineData("http")]
    [InlineData("stdio")]
    public async Task AllOutput_AtTraceLevel_NeverContainsASecret(string frontend)
    {
        using var cts = new CancellationTokenSource(TestTimeout * 4);
        using var temp = new TempDirectory();
        await using var web = await TestServerProcess.StartAsync("--name", "web", "--verbose");
        var logFile = temp.Combine("proxy.log");
        var tokenFile = temp.WriteFile("token", Secrets["front door token"] + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(tokenFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        var config = temp.WriteFile("mcp.json", Config(web.Url).ToJsonString());
        var environment = new Dictionary<string, string?>
        {
            ["MP_TEST_SECRET_ENV"] = Secrets["env value via ${env:}"],
            ["MP_TEST_SECRET_HEADER"] = Secrets["header value via ${env:}"],
        };
        string[] args = ["--config", config, "--log-level", "Trace", "--log-file", logFile];
        var clientOptions = new McpClientOptions { ProtocolVersion = "2025-11-25" };
        var answers = new StringBuilder();
        ProxyProcess proxy;
        if (frontend == "http")
        {
            proxy = await ProxyProcess.StartHttpAsync([.. args, "--token-file", tokenFile], environment, cts.Token);
            await using (proxy)
            {
                await using (var client = await McpClient.CreateAsync(
                    new HttpClientTransport(new HttpClientTransportOptions
                    {
                        Endpoint = proxy.Url!,
                        TransportMode = HttpTransportMode.StreamableHttp,
                        AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = $"Bearer {Secrets["front door token"]}" },
                    }),
                    clientOptions,
                    cancellationToken: cts.Token))
                {
                    await ExerciseAsync(client, web.Url, answers, cts.Token);
                }

                // The admin API (what the web console shows) and the front door's refusals too.
                foreach (var path in new[] { "/api/status", "/api/backends", "/api/backends/down", "/api/events", "/api/errors", "/api/health", "/api/tools", "/metrics" })
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(proxy.Url!, path));
                    request.Headers.Add("Authorization", $"Bearer {Secrets["front door token"]}");
                    using var response = await RawHttp.SendAsync(request);
                    Assert.True(response.IsSuccessStatusCode, $"{path}: {response.StatusCode}");
                    answers.AppendLine(await response.Content.ReadAsStringAsync(cts.Token));
                }

                foreach (var headers in new (string, string)[][] { [], [("Authorization", "Bearer wrong-token-0123456789")], [("Origin", "http://evil.example")] })
                {
                    using var refused = await RawHttp.PostAsync(proxy.Url!, RawHttp.Initialize, headers);
                    answers.AppendLine(await refused.Content.ReadAsStringAsync(cts.Token));
                }
            }
        }
        else
        {
            proxy = await ProxyProcess.StartStdioAsync(args, environment, clientOptions, recordOutput: true, cts.Token);
            await using (proxy)
            {
                await ExerciseAsync(proxy.Client!, web.Url, answers, cts.Token);
            }
        }

        var everything = new Dictionary<string, string>
        {
            ["stderr"] = string.Join('\n', proxy.StderrLines),
            // HTTP mode: stdout as lines; stdio mode: every byte of the protocol channel (answers, logs, notifications).
            ["stdout"] = proxy.Client is null ? string.Join('\n', proxy.Process.StdoutLines) : proxy.ProtocolOutput,
            ["log file"] = await File.ReadAllTextAsync(logFile, cts.Token),
            ["answers"] = answers.ToString(),
        };
        output.WriteLine($"checked {everything.Sum(e => e.Value.Length)} characters: {string.Join(", ", everything.Select(e => $"{e.Key} {e.Value.Length}"))}");

        // The run really was verbose and really went through the secrets' paths.
        Assert.Contains("trce", everything["stderr"], StringComparison.Ordinal);
        Assert.Contains("TRACE", everything["log file"], StringComparison.Ordinal);
        Assert.Contains("\"manage\"", everything["log file"], StringComparison.Ordinal);
        Assert.Contains("--api-key ***", everything["answers"], StringComparison.Ordinal);
        Assert.Contains("local: hello", everything["answers"], StringComparison.Ordinal);
        Assert.Equal(2, everything["answers"].Split("web: hello").Length - 1); // 'web', and 'added' (the same server)

        var leaks = (from place in everything
                     from secret in Secrets
                     where place.Value.Contains(secret.Value, StringComparison.Ordinal)
                     select $"{secret.Key} ({secret.Value}) in {place.Key}: {Around(place.Value, secret.Value)}").ToList();
        Assert.True(leaks.Count == 0, string.Join("\n", leaks));
    }

    private static JsonObject Config(Uri web) => new()
    {
        ["mcpServers"] = new JsonObject
        {
            ["local"] = new JsonObject
            {
                ["command"] = TestServerCommand.Command,
                ["args"] = Array(TestServerCommand.Arguments("--name", "local", "--verbose")),
                ["env"] = new JsonObject { ["API_KEY"] = "${env:MP_TEST_SECRET_ENV}", ["OTHER"] = Secrets["literal env value"] },
            },
            ["web"] = new JsonObject
            {
                ["url"] = new UriBuilder(web) { UserName = "user", Password = Secrets["URL password"], Query = $"token={Secrets["URL query value"]}" }.Uri.ToString(),
                ["headers"] = new JsonObject { ["Authorization"] = "Bearer ${env:MP_TEST_SECRET_HEADER}", ["X-Api-Key"] = Secrets["literal header value"] },
            },
            ["broken"] = new JsonObject
            {
                ["command"] = TestServerCommand.Command,
                ["args"] = Array(TestServerCommand.Arguments("--api-key", Secrets["secret argument"])),
            },
            ["down"] = new JsonObject
            {
                ["url"] = $"http://127.0.0.1:1/mcp?key={Secrets["query of an unreachable server"]}",
                ["headers"] = new JsonObject { ["Authorization"] = $"Bearer {Secrets["header of an unreachable server"]}" },
            },
        },
    };

    /// <summary>Everything a client can make the proxy answer or log: lists, calls, every manage action, errors.</summary>
    private static async Task ExerciseAsync(McpClient client, Uri webUrl, StringBuilder answers, CancellationToken cancellationToken)
    {
        async Task CallAsync(string tool, params (string, object?)[] args)
        {
            try
            {
                var result = await client.CallToolAsync(tool, Args(args), cancellationToken: cancellationToken);
                answers.AppendLine(JsonSerializer.Serialize(result, McpJsonUtilities.DefaultOptions));
            }
            catch (McpException ex)
            {
                answers.AppendLine(ex.Message);
            }
        }

        var added = new Dictionary<string, string> { ["Authorization"] = $"Bearer {Secrets["header added through manage"]}" };
        await ToolSurfaceTests.WaitForToolsAsync(client, ["local__echo", "web__echo"], cancellationToken);
        answers.AppendLine(JsonSerializer.Serialize(await client.ListToolsAsync(cancellationToken: cancellationToken), McpJsonUtilities.DefaultOptions));
        answers.AppendLine(client.ServerInstructions);
        await CallAsync("local__echo", ("text", "hello"));
        await CallAsync("web__echo", ("text", "hello"));
        await CallAsync("proxy_status");
        await CallAsync("proxy_health");
        await CallAsync("manage", ("action", "list"));
        await CallAsync("manage", ("action", "health"));
        await CallAsync("manage", ("action", "add"), ("name", "added"), ("url", webUrl.ToString()), ("headers", added));
        await CallAsync("added__echo", ("text", "hello"));
        await CallAsync("manage", ("action", "add"), ("name", "added"), ("url", webUrl.ToString()), ("headers", added));
        await CallAsync("manage", ("action", "list"));
        await CallAsync("proxy_status", ("name", "down"));
        await CallAsync("proxy_status", ("name", "broken"));
        await CallAsync("manage", ("action", "health"), ("name", "down"));
        await CallAsync("down__echo", ("text", "x"));
        await CallAsync("manage", ("action", "disable"), ("name", "web"));
        await CallAsync("manage", ("action", "enable"), ("name", "web"));
        await CallAsync("manage", ("action", "remove"), ("name", "added"));
    }

    private static JsonArray Array(IEnumerable<string> values) => new([.. values.Select(v => JsonValue.Create(v))]);

    private static string Around(string text, string secret)
    {
        var at = text.IndexOf(secret, StringComparison.Ordinal);
        var start = Math.Max(0, at - 200);
        return text.Substring(start, Math.Min(text.Length - start, at - start + secret.Length + 50)).ReplaceLineEndings(" ");
    }
}
