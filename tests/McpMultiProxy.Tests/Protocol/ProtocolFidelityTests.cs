using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using McpMultiProxy.Tests.Infrastructure;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Xunit;
using static McpMultiProxy.Tests.Infrastructure.McpTestClient;

namespace McpMultiProxy.Tests.Protocol;

/// <summary>
/// Everything MCP carries passes through the proxy, for clients of both protocol eras (2025-11-25 with
/// sessions, 2026-07-28 without) and for stdio (<c>ts</c>) and HTTP (<c>th</c>) backends.
/// </summary>
public sealed class ProtocolFidelityTests(ProtocolFixture fixture, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<ProtocolFixture>
{
    public static TheoryData<string, string> Matrix => new()
    {
        { ProtocolFixture.Legacy, "ts" },
        { ProtocolFixture.Legacy, "th" },
        { ProtocolFixture.Modern, "ts" },
        { ProtocolFixture.Modern, "th" },
    };

    public static TheoryData<string> Eras => new() { ProtocolFixture.Legacy, ProtocolFixture.Modern };

    [Theory]
    [MemberData(nameof(Eras))]
    public async Task Connect_EitherEra_NegotiatesItAndSeesAllBackends(string era)
    {
        await using var client = await fixture.ConnectAsync(era);
        Assert.Equal(era, client.NegotiatedProtocolVersion);
        var tools = (await client.ListToolsAsync()).Select(t => t.Name).ToList();
        Assert.Contains("manage", tools);
        Assert.Contains("ts__echo", tools);
        Assert.Contains("th__echo", tools);
        Assert.Equal(tools.Count, tools.Distinct().Count());
        Assert.Contains("ts", client.ServerInstructions, StringComparison.Ordinal);
    }

    /// <summary>
    /// The SDK stamps 2026-07-28 result fields (resultType, ttlMs, cacheScope) onto the result object a list handler
    /// returns; lists are served from prebuilt snapshots, so a 2026 client listing first must not leave those fields
    /// in what an older client gets (it would reject them as unknown keys).
    /// </summary>
    [Fact]
    public async Task Lists_ModernClientListsFirst_LegacyClientGetsNoModernFields()
    {
        string[] methods = [RequestMethods.ToolsList, RequestMethods.PromptsList, RequestMethods.ResourcesList, RequestMethods.ResourcesTemplatesList];
        await using var modern = await fixture.ConnectAsync(ProtocolFixture.Modern);
        await using var legacy = await fixture.ConnectAsync(ProtocolFixture.Legacy);
        foreach (var method in methods)
        {
            var first = (JsonObject)(await modern.SendRequestAsync(new JsonRpcRequest { Method = method })).Result!;
            Assert.Equal("complete", first["resultType"]?.GetValue<string>());
            var cursor = first["nextCursor"]?.GetValue<string>();
            if (cursor is not null)
            {
                await modern.SendRequestAsync(new JsonRpcRequest { Method = method, Params = new JsonObject { ["cursor"] = cursor } });
            }

            foreach (var parameters in cursor is null ? [null] : new[] { null, new JsonObject { ["cursor"] = cursor } })
            {
                var page = (JsonObject)(await legacy.SendRequestAsync(new JsonRpcRequest { Method = method, Params = parameters })).Result!;
                var keys = page.Select(p => p.Key).ToList();
                Assert.DoesNotContain("resultType", keys);
                Assert.DoesNotContain("ttlMs", keys);
                Assert.DoesNotContain("cacheScope", keys);
                Assert.True(page.Count >= 1, $"{method}: {page.ToJsonString()}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Eras))]
    public async Task Lists_BadCursor_InvalidParamsThatSaysWhy(string era)
    {
        await using var client = await fixture.ConnectAsync(era);
        string[] methods = [RequestMethods.ToolsList, RequestMethods.PromptsList, RequestMethods.ResourcesList, RequestMethods.ResourcesTemplatesList];
        foreach (var method in methods)
        {
            foreach (var cursor in new JsonNode[] { "abc", Convert.ToBase64String("mmp:999999:0"u8), 12 })
            {
                var ex = await Assert.ThrowsAsync<McpProtocolException>(() => client.SendRequestAsync(new JsonRpcRequest { Method = method, Params = new JsonObject { ["cursor"] = cursor.DeepClone() } }));
                Assert.Equal(McpErrorCode.InvalidParams, ex.ErrorCode);
                if (cursor.GetValueKind() == JsonValueKind.String)
                {
                    Assert.Contains("cursor", ex.Message, StringComparison.OrdinalIgnoreCase);
                }
            }
        }

        // The session goes on.
        Assert.Contains("manage", (await client.ListToolsAsync()).Select(t => t.Name));
    }

    /// <summary>
    /// A tool result reaches a client of the eras before 2026-07-28 exactly as the backend sent it, fields the SDK
    /// does not model included: the proxy relays the node it read and does not type it. A 2026-07-28 client gets it
    /// typed, as the SDK writes results of its era (with <c>resultType</c>).
    /// </summary>
    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task CallTool_ResultWithFieldsTheSdkDoesNotModel_LegacyClientGetsItAsTheBackendSentIt(string era, string backend)
    {
        const string Sent = """
            {"content":[{"type":"text","text":"caf\u00e9 \"quoted\" \ud83d\ude00","x-block":[1,2.50,"three"]}],
             "structuredContent":{"n":1,"deep":{"list":[true,null]}},"isError":false,"x-vendor":{"a":"b"},"_meta":{"k":"v"}}
            """;
        await using var client = await fixture.ConnectAsync(era);
        var result = (JsonObject)(await CallRawAsync(client, $"{backend}__raw_result", Sent)).Result!;
        if (era == ProtocolFixture.Legacy)
        {
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Sent), result), result.ToJsonString());
        }
        else
        {
            Assert.Equal("complete", result["resultType"]?.GetValue<string>());
            Assert.Equal("caf\u00e9 \"quoted\" \ud83d\ude00", result["content"]![0]!["text"]!.GetValue<string>());
            Assert.Equal(1, result["structuredContent"]!["n"]!.GetValue<int>());
        }

        Assert.Equal($"{backend}: ok", Text(await client.CallToolAsync($"{backend}__echo", Args(("text", "ok")))));
    }

    /// <summary>
    /// A result that is not shaped like a tool result is not relayed blindly: it is read as the SDK reads a tool
    /// result, so a client of either era gets an error that names the server and says its result is not valid (not that
    /// the server is unavailable: it answered), and the proxy and that server go on serving.
    /// </summary>
    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task CallTool_ResultNotShapedLikeAToolResult_ClientGetsAnErrorAndTheProxyGoesOn(string era, string backend)
    {
        await using var client = await fixture.ConnectAsync(era);
        foreach (var sent in new[] { """{"content":"not a list"}""", """[1,2]""" })
        {
            var error = await Assert.ThrowsAnyAsync<McpException>(() => CallRawAsync(client, $"{backend}__raw_result", sent));
            output.WriteLine($"{sent}: {error.Message}");
            Assert.Contains($"Server '{backend}' answered tools/call with a result that is not valid", error.Message, StringComparison.Ordinal);
        }

        Assert.Equal($"{backend}: ok", Text(await client.CallToolAsync($"{backend}__echo", Args(("text", "ok")))));
    }

    private static Task<JsonRpcResponse> CallRawAsync(McpClient client, string tool, string json) =>
        client.SendRequestAsync(new JsonRpcRequest
        {
            Method = RequestMethods.ToolsCall,
            Params = new JsonObject { ["name"] = tool, ["arguments"] = new JsonObject { ["json"] = json } },
        });

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task CallTool_WithProgress_CallerGetsEveryProgressUnderItsToken(string era, string backend)
    {
        await using var client = await fixture.ConnectAsync(era);
        var (result, seen) = await CallWithProgressAsync(client, $"{backend}__progress", new JsonObject { ["steps"] = 3, ["delayMs"] = 20 });
        Assert.Contains("3 steps done", result.ToJsonString(), StringComparison.Ordinal);

        // The SDK client may dispatch the last notification just after the result: wait for it, then check all.
        await WaitUntilAsync(() => seen.Count == 3);
        Assert.Equal([1d, 2d, 3d], seen.Select(p => (double)p.Progress).Order());
        Assert.All(seen, p => Assert.StartsWith($"{backend}: step", p.Message, StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task CallTool_BackendAsksForSampling_CallerAnswersAndBackendGetsIt(string era, string backend)
    {
        await using var client = await fixture.ConnectAsync(era, SamplingOptions("sampled"));
        await ExpectServerToClientAsync(era, async () =>
        {
            var result = await client.CallToolAsync($"{backend}__sample", Args(("prompt", "hello")));
            Assert.Contains("sampled to 'hello'", Text(result), StringComparison.Ordinal);
        });
    }

    /// <summary>
    /// A 2026-07-28 client over HTTP is served statelessly: there is no channel on which a backend's request could
    /// reach it, so the call fails with an error that says so (never a hang). Over stdio the same works (see
    /// StdioFrontendProtocolTests).
    /// </summary>
    private static async Task ExpectServerToClientAsync(string era, Func<Task> call)
    {
        if (era == ProtocolFixture.Legacy)
        {
            await call();
            return;
        }

        var ex = await Assert.ThrowsAsync<McpProtocolException>(call).WaitAsync(TestTimeout);
        Assert.Contains("cannot carry requests from servers", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task CallTool_BackendAsksForElicitation_CallerAnswersAndBackendGetsIt(string era, string backend)
    {
        var options = new McpClientOptions
        {
            Handlers = new McpClientHandlers
            {
                ElicitationHandler = (request, _) => ValueTask.FromResult(new ElicitResult
                {
                    Action = "accept",
                    Content = new Dictionary<string, JsonElement> { ["answer"] = JsonSerializer.SerializeToElement("forty-two") },
                }),
            },
        };
        await using var client = await fixture.ConnectAsync(era, options);
        await ExpectServerToClientAsync(era, async () =>
        {
            var text = Text(await client.CallToolAsync($"{backend}__elicit", Args(("message", "what?"))));
            Assert.Contains("accept", text, StringComparison.Ordinal);
            Assert.Contains("forty-two", text, StringComparison.Ordinal);
        });
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task CallTool_BackendAsksForRoots_CallerAnswers(string era, string backend)
    {
        var options = new McpClientOptions
        {
            Handlers = new McpClientHandlers
            {
                RootsHandler = (_, _) => ValueTask.FromResult(new ListRootsResult { Roots = [new Root { Uri = "file:///work/project", Name = "project" }] }),
            },
        };
        await using var client = await fixture.ConnectAsync(era, options);
        await ExpectServerToClientAsync(era, async () =>
            Assert.Contains("file:///work/project", Text(await client.CallToolAsync($"{backend}__roots")), StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task CallTool_BackendLogsDuringCall_CallerGetsTheMessage(string era, string backend)
    {
        await using var client = await fixture.ConnectAsync(era);
        var messages = new ConcurrentQueue<LoggingMessageNotificationParams>();
        await using var handler = client.RegisterNotificationHandler(NotificationMethods.LoggingMessageNotification, (n, _) =>
        {
            messages.Enqueue(n.Params!.Deserialize<LoggingMessageNotificationParams>(McpJsonUtilities.DefaultOptions)!);
            return default;
        });
        var marker = Guid.NewGuid().ToString("N");
        await client.CallToolAsync($"{backend}__log", Args(("level", "warning"), ("message", marker)));
        await WaitUntilAsync(() => messages.Any(m => m.Data.ToString().Contains(marker, StringComparison.Ordinal)));
        Assert.Equal(LoggingLevel.Warning, messages.First(m => m.Data.ToString().Contains(marker, StringComparison.Ordinal)).Level);
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task CallTool_ClientCancels_BackendReceivesTheCancellation(string era, string backend)
    {
        await using var client = await fixture.ConnectAsync(era);
        var before = Count(Text(await client.CallToolAsync($"{backend}__cancelled")));

        if (era == ProtocolFixture.Modern)
        {
            // 2026-07-28 over HTTP has no session: a request is cancelled by closing its stream, which the SDK
            // client does when the token is cancelled.
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await client.CallToolAsync($"{backend}__slow", Args(("ms", 30000)), cancellationToken: cts.Token));
            await WaitUntilAsync(async () => Count(Text(await client.CallToolAsync($"{backend}__cancelled"))) == before + 1);
            return;
        }

        // The SDK client does not send notifications/cancelled when its token is cancelled: send the request with a
        // known id and cancel it as the protocol says.
        var id = new RequestId($"cancel-me-{Guid.NewGuid():N}");
        var call = client.SendRequestAsync(new JsonRpcRequest
        {
            Id = id,
            Method = RequestMethods.ToolsCall,
            Params = new JsonObject { ["name"] = $"{backend}__slow", ["arguments"] = new JsonObject { ["ms"] = 30000 } },
        });
        await Task.Delay(500);
        await client.SendNotificationAsync(NotificationMethods.CancelledNotification, new CancelledNotificationParams { RequestId = id, Reason = "test" }, McpJsonUtilities.DefaultOptions);

        await WaitUntilAsync(async () => Count(Text(await client.CallToolAsync($"{backend}__cancelled"))) == before + 1);
        _ = call.ContinueWith(t => t.Exception, TaskScheduler.Default);

        static int Count(string text) => int.Parse(text[(text.IndexOf('=', StringComparison.Ordinal) + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Theory]
    [MemberData(nameof(Eras))]
    public async Task CallTool_SlowerThanBackendTimeout_FailsNamingBackendAndTimeout_AndBackendIsCancelled(string era)
    {
        await using var client = await fixture.ConnectAsync(era);
        var before = Text(await client.CallToolAsync("tt__cancelled"));
        var ex = await Assert.ThrowsAsync<McpProtocolException>(async () => await client.CallToolAsync("tt__slow", Args(("ms", 8000))));
        Assert.Contains("'tt'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("2 s", ex.Message, StringComparison.Ordinal);
        await WaitUntilAsync(async () => Text(await client.CallToolAsync("tt__cancelled")) != before);
    }

    [Theory]
    [MemberData(nameof(Eras))]
    public async Task CallTool_ProgressKeepsCallAlive_PastTheTimeout(string era)
    {
        await using var client = await fixture.ConnectAsync(era);
        var seen = new ConcurrentQueue<ProgressNotificationValue>();

        // Counted by a session-wide handler: the SDK client's per-call IProgress sometimes misses the last step
        // (seen: 5 of 6 in 2 of 12 runs, while the session-wide handler got all 6 in every run), because the call's
        // handler goes away when the answer is processed; the proxy sent the step first.
        await using var handler = client.RegisterNotificationHandler(NotificationMethods.ProgressNotification, (n, _) =>
        {
            seen.Enqueue(n.Params!.Deserialize<ProgressNotificationParams>(McpJsonUtilities.DefaultOptions)!.Progress);
            return default;
        });

        // 6 steps 800 ms apart: about 5 s in all, with a 2 s timeout that each progress notification resets.
        var perCall = 0;
        var result = await client.CallToolAsync("tt__progress", Args(("steps", 6), ("delayMs", 800)), new SyncProgress(_ => Interlocked.Increment(ref perCall)));
        Assert.NotEqual(true, result.IsError);
        await WaitUntilAsync(() => seen.Count == 6, () => $"{seen.Count} progress notification(s): {string.Join(", ", seen.Select(v => v.Progress))}");
        output.WriteLine($"progress seen by the session: {seen.Count}, by the call's own handler: {Volatile.Read(ref perCall)}");
    }

    [Theory]
    [MemberData(nameof(Eras))]
    public async Task ListTools_ManyPages_ProxyCursorsWalkEveryTool(string era)
    {
        await using var client = await fixture.ConnectAsync(era);
        var first = await client.ListToolsAsync(new ListToolsRequestParams());
        Assert.Equal(7, first.Tools.Count);
        Assert.NotNull(first.NextCursor);

        var all = await client.ListToolsAsync();
        Assert.True(all.Count > 7 * 3);
        Assert.Equal(all.Count, all.Select(t => t.Name).Distinct().Count());

        var bad = await Assert.ThrowsAsync<McpProtocolException>(async () => await client.ListToolsAsync(new ListToolsRequestParams { Cursor = "bm90LW91cnM=" }));
        Assert.Equal(McpErrorCode.InvalidParams, bad.ErrorCode);
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Complete_NamespacedPrompt_RoutedToOwnerWithItsOwnName(string era, string backend)
    {
        await using var client = await fixture.ConnectAsync(era);
        var result = await client.CompleteAsync(new PromptReference { Name = $"{backend}__greet" }, "name", "");
        Assert.NotEmpty(result.Completion.Values);
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task GetPromptAndReadResource_RoutedToOwner(string era, string backend)
    {
        await using var client = await fixture.ConnectAsync(era);
        var prompt = await client.GetPromptAsync($"{backend}__greet", new Dictionary<string, object?> { ["name"] = "Ada" });
        Assert.Contains("Ada", JsonSerializer.Serialize(prompt.Messages), StringComparison.Ordinal);

        var resource = await client.ReadResourceAsync($"test://{backend}/item/7");
        Assert.Contains("7", Assert.IsType<TextResourceContents>(Assert.Single(resource.Contents)).Text, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task ResourceUpdated_ReachesEverySubscribedClient_AndNoOther(string era, string backend)
    {
        var uri = $"test://{backend}/counter";
        await using var a = await fixture.ConnectAsync(era);
        await using var b = await fixture.ConnectAsync(era);
        await using var bystander = await fixture.ConnectAsync(era);
        var updates = new ConcurrentDictionary<string, int>();
        using var stop = new CancellationTokenSource();
        foreach (var (client, label) in new[] { (a, "a"), (b, "b"), (bystander, "c") })
        {
            client.RegisterNotificationHandler(NotificationMethods.ResourceUpdatedNotification, (n, _) =>
            {
                if (n.Params?["uri"]?.GetValue<string>() == uri)
                {
                    updates.AddOrUpdate(label, 1, (_, v) => v + 1);
                }

                return default;
            });
        }

        if (era == ProtocolFixture.Legacy)
        {
            await a.SubscribeToResourceAsync(uri);
            await b.SubscribeToResourceAsync(uri);
        }
        else
        {
            await StartListeningAsync(a, new SubscriptionsListenNotifications { ResourceSubscriptions = [uri] }, stop.Token);
            await StartListeningAsync(b, new SubscriptionsListenNotifications { ResourceSubscriptions = [uri] }, stop.Token);
        }

        await bystander.CallToolAsync($"{backend}__bump");
        await WaitUntilAsync(() => updates.GetValueOrDefault("a") >= 1 && updates.GetValueOrDefault("b") >= 1);
        await Task.Delay(300);
        Assert.Equal(0, updates.GetValueOrDefault("c"));
        await stop.CancelAsync();
    }

    [Theory]
    [MemberData(nameof(Eras))]
    public async Task ListChanged_BackendChangesItsTools_ClientIsToldAndSeesTheNewTool(string era)
    {
        await using var client = await fixture.ConnectAsync(era);
        var changed = 0;
        client.RegisterNotificationHandler(NotificationMethods.ToolListChangedNotification, (_, _) =>
        {
            Interlocked.Increment(ref changed);
            return default;
        });
        using var stop = new CancellationTokenSource();
        if (era == ProtocolFixture.Modern)
        {
            await StartListeningAsync(client, new SubscriptionsListenNotifications { ToolsListChanged = true }, stop.Token);
        }

        var added = Text(await client.CallToolAsync("ts__change_tools"));
        await WaitUntilAsync(() => Volatile.Read(ref changed) > 0);
        var name = "ts__" + added[(added.IndexOf("added_", StringComparison.Ordinal))..].Split(' ', '\'', '.')[0];
        await WaitUntilAsync(async () => (await client.ListToolsAsync()).Any(t => t.Name == name));
        await stop.CancelAsync();
    }

    [Fact]
    public async Task TwoClients_SameProgressToken_EachGetsOnlyItsOwnProgress()
    {
        await using var a = await fixture.ConnectAsync(ProtocolFixture.Legacy);
        await using var b = await fixture.ConnectAsync(ProtocolFixture.Legacy);
        var countA = 0;
        var countB = 0;
        a.RegisterNotificationHandler(NotificationMethods.ProgressNotification, (n, _) => Count(n, ref countA));
        b.RegisterNotificationHandler(NotificationMethods.ProgressNotification, (n, _) => Count(n, ref countB));

        await Task.WhenAll(CallWithTokenAsync(a, 3), CallWithTokenAsync(b, 5));
        await WaitUntilAsync(() => Volatile.Read(ref countA) == 3 && Volatile.Read(ref countB) == 5);
        await Task.Delay(300);
        Assert.Equal(3, Volatile.Read(ref countA));
        Assert.Equal(5, Volatile.Read(ref countB));

        static ValueTask Count(JsonRpcNotification n, ref int counter)
        {
            if (n.Params?["progressToken"]?.ToString() == "same-token")
            {
                Interlocked.Increment(ref counter);
            }

            return default;
        }

        static Task CallWithTokenAsync(McpClient client, int steps) => client.SendRequestAsync(new JsonRpcRequest
        {
            Method = RequestMethods.ToolsCall,
            Params = new JsonObject
            {
                ["name"] = "ts__progress",
                ["arguments"] = new JsonObject { ["steps"] = steps, ["delayMs"] = 30 },
                ["_meta"] = new JsonObject { ["progressToken"] = "same-token" },
            },
        });
    }

    [Fact]
    public async Task TwoClients_PerClientBackend_EachHasItsOwnSessionAndGetsItsOwnSampling()
    {
        await using var a = await fixture.ConnectAsync(ProtocolFixture.Legacy, SamplingOptions("alpha"));
        await using var b = await fixture.ConnectAsync(ProtocolFixture.Legacy, SamplingOptions("beta"));

        var results = await Task.WhenAll(
            a.CallToolAsync("tp__sample", Args(("prompt", "one"))).AsTask(),
            b.CallToolAsync("tp__sample", Args(("prompt", "two"))).AsTask());
        Assert.Contains("alpha to 'one'", Text(results[0]), StringComparison.Ordinal);
        Assert.Contains("beta to 'two'", Text(results[1]), StringComparison.Ordinal);

        var pidA = (await a.CallToolAsync("tp__whoami")).StructuredContent?.GetProperty("pid").GetInt32();
        var pidB = (await b.CallToolAsync("tp__whoami")).StructuredContent?.GetProperty("pid").GetInt32();
        Assert.NotEqual(pidA, pidB);
    }

    [Fact]
    public async Task SharedBackend_TwoClientsSampleAtOnce_NoHangAndEachCallEnds()
    {
        // With one shared session the proxy cannot tell which caller a backend's request belongs to when two
        // clients call at once: the call then fails with a clear error (never a hang, never the wrong client).
        await using var a = await fixture.ConnectAsync(ProtocolFixture.Legacy, SamplingOptions("alpha"));
        await using var b = await fixture.ConnectAsync(ProtocolFixture.Legacy, SamplingOptions("beta"));
        var slow = a.CallToolAsync("ts__slow", Args(("ms", 3000))).AsTask();
        await WaitUntilAsync(async () => (await a.CallToolAsync("proxy_status", Args(("name", "ts")))).StructuredContent!.Value
            .GetProperty("servers")[0].GetProperty("inFlight").GetInt32() == 1);
        var ex = await Assert.ThrowsAsync<McpProtocolException>(async () => await b.CallToolAsync("ts__sample", Args(("prompt", "x")))).WaitAsync(TestTimeout);
        Assert.Contains("could not be tied to one client", ex.Message, StringComparison.Ordinal);
        Assert.Contains("per-client", ex.Message, StringComparison.Ordinal);
        await slow;
    }

    [Fact]
    public async Task ProxyStatus_ShowsBackendInstructionsAndServerInfo()
    {
        await using var client = await fixture.ConnectAsync(ProtocolFixture.Legacy);
        var status = (await client.CallToolAsync("proxy_status", Args(("name", "ts")))).StructuredContent!.Value;
        var server = status.GetProperty("servers")[0].GetProperty("server");
        Assert.Equal("ts", server.GetProperty("name").GetString());
        Assert.Equal("2025-11-25", server.GetProperty("protocolVersion").GetString());
    }

    [Theory]
    [MemberData(nameof(Eras))]
    public async Task ServerEverything_ToolsPromptsResourcesCompletionsThroughProxy(string era)
    {
        if (!fixture.HasEverything)
        {
            Assert.Fail(ServerEverything.MissingReason);
        }

        await using var client = await fixture.ConnectAsync(era, SamplingOptions("ev-sampled"));
        Assert.Contains("hi", Text(await client.CallToolAsync("ev__echo", Args(("message", "hi")))), StringComparison.Ordinal);
        var sum = await client.CallToolAsync("ev__get-sum", Args(("a", 2), ("b", 3)));
        Assert.Contains("5", string.Join(' ', sum.Content.OfType<TextContentBlock>().Select(t => t.Text)), StringComparison.Ordinal);

        var (_, seen) = await CallWithProgressAsync(client, "ev__trigger-long-running-operation", new JsonObject { ["duration"] = 1, ["steps"] = 3 });
        await WaitUntilAsync(() => seen.Count == 3);

        var sampled = JsonSerializer.Serialize((await client.CallToolAsync("ev__trigger-sampling-request", Args(("prompt", "tell me"), ("maxTokens", 10)))).Content);
        Assert.Contains(era == ProtocolFixture.Legacy ? "ev-sampled" : "cannot carry requests from servers", sampled, StringComparison.Ordinal);

        var prompts = (await client.ListPromptsAsync()).Select(p => p.Name).ToList();
        Assert.True(prompts.Contains("ev__simple-prompt"), string.Join(", ", prompts));
        var prompt = await client.GetPromptAsync("ev__simple-prompt");
        Assert.NotEmpty(prompt.Messages);
        var completion = await client.CompleteAsync(new PromptReference { Name = "ev__completable-prompt" }, "department", "");
        Assert.NotEmpty(completion.Completion.Values);
        var templateCompletion = await client.CompleteAsync(
            new ResourceTemplateReference { Uri = "demo://resource/dynamic/text/{resourceId}" }, "resourceId", "7");
        Assert.Equal(["7"], templateCompletion.Completion.Values);
        var text = await client.ReadResourceAsync("demo://resource/dynamic/text/1");
        Assert.NotEmpty(text.Contents);
    }

    /// <summary>Calls a tool with a progress token of our own and counts the progress for it as it arrives.</summary>
    private static async Task<(JsonNode Result, ConcurrentQueue<ProgressNotificationValue> Seen)> CallWithProgressAsync(McpClient client, string tool, JsonObject arguments)
    {
        var token = $"p-{Guid.NewGuid():N}";
        var seen = new ConcurrentQueue<ProgressNotificationValue>();
        client.RegisterNotificationHandler(NotificationMethods.ProgressNotification, (n, _) =>
        {
            var p = n.Params!.Deserialize<ProgressNotificationParams>(McpJsonUtilities.DefaultOptions)!;
            if (p.ProgressToken.ToString() == token)
            {
                seen.Enqueue(p.Progress);
            }

            return default;
        });
        var response = await client.SendRequestAsync(new JsonRpcRequest
        {
            Method = RequestMethods.ToolsCall,
            Params = new JsonObject { ["name"] = tool, ["arguments"] = arguments, ["_meta"] = new JsonObject { ["progressToken"] = token } },
        });
        return (response.Result!, seen);
    }

    /// <summary>Opens a subscriptions/listen stream and returns once the proxy acknowledged it.</summary>
    private static async Task StartListeningAsync(McpClient client, SubscriptionsListenNotifications notifications, CancellationToken cancellationToken)
    {
        var acknowledged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var handler = client.RegisterNotificationHandler(NotificationMethods.SubscriptionsAcknowledgedNotification, (_, _) =>
        {
            acknowledged.TrySetResult();
            return default;
        });
        _ = ListenAsync(client, notifications, cancellationToken);
        await acknowledged.Task.WaitAsync(TestTimeout, cancellationToken);
    }

    private static async Task ListenAsync(McpClient client, SubscriptionsListenNotifications notifications, CancellationToken cancellationToken)
    {
        try
        {
            await client.SendRequestAsync<SubscriptionsListenRequestParams, EmptyResult>(
                RequestMethods.SubscriptionsListen,
                new SubscriptionsListenRequestParams { Notifications = notifications },
                McpJsonUtilities.DefaultOptions,
                cancellationToken: cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Reports progress synchronously, in order (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class SyncProgress(Action<ProgressNotificationValue> report) : IProgress<ProgressNotificationValue>
    {
        public void Report(ProgressNotificationValue value) => report(value);
    }
}
