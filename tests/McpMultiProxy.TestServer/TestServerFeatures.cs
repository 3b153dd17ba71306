using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpMultiProxy.TestServer;

/// <summary>
/// The tools, prompt and resources of mcp-testserver and the filters that implement its misbehaviour flags.
/// One instance per process: in HTTP mode every session shares it, so <c>change_tools</c> in one session
/// is seen (with <c>notifications/tools/list_changed</c>) by all of them.
/// </summary>
internal sealed class TestServerFeatures
{
    private static readonly JsonElement ValueSchema = JsonElement.Parse("""
        {"type":"object","properties":{"value":{"type":"string","description":"Any text; it is echoed back."}}}
        """);

    private static readonly JsonElement SumSchema = JsonElement.Parse("""
        {"type":"object","properties":{"sum":{"type":"number"}},"required":["sum"]}
        """);

    private readonly TestServerOptions _options;
    private readonly McpServerPrimitiveCollection<McpServerTool> _tools = new();
    private readonly McpServerPrimitiveCollection<McpServerPrompt> _prompts = new();
    private readonly McpServerResourceCollection _resources = new();
    private readonly ConcurrentDictionary<(string Session, string Uri), McpServer> _subscriptions = new();
    private readonly ConcurrentDictionary<RequestId, System.Text.Json.Nodes.JsonNode?> _rawResults = new();
    private readonly object _toolsLock = new();
    private int _toolCalls;
    private int _addedTools;
    private int _counter;
    private int _cancelled;
    private int _mutations;
    private object? _exitAfterResponseTo;
    private bool _lastCallAnswered;

    public TestServerFeatures(TestServerOptions options)
    {
        _options = options;
        AddTools();
        for (var i = 0; i < options.GeneratedTools; i++)
        {
            _tools.Add(new TextTool($"tool_{i}", $"Generated tool {i}: echoes 'value'.", ValueSchema, Prefix));
        }

        foreach (var name in options.ExtraTools)
        {
            _tools.Add(new TextTool(name, $"Extra tool '{name}' (--extra-tool): echoes 'value'.", ValueSchema, Prefix));
        }

        _prompts.Add(McpServerPrompt.Create(
            ([Description("Who to greet.")] string name) => $"{Prefix}Hello, {name}!",
            new() { Name = "greet", Description = "Greets someone by name. The 'name' argument has completions." }));

        _resources.Add(McpServerResource.Create(
            () => $"{Prefix}static resource",
            new() { UriTemplate = StaticUri, Name = "static", MimeType = "text/plain", Description = "A fixed text." }));
        _resources.Add(McpServerResource.Create(
            (string id) => $"{Prefix}item {id}",
            new() { UriTemplate = $"test://{Name}/item/{{id}}", Name = "item", MimeType = "text/plain", Description = "Any item by id." }));
        _resources.Add(McpServerResource.Create(
            () => $"{Prefix}counter={Volatile.Read(ref _counter)}",
            new() { UriTemplate = CounterUri, Name = "counter", MimeType = "text/plain", Description = "Changes on tool 'bump'; subscribable." }));
    }

    private string Name => _options.Name;

    private string Prefix => $"{_options.Name}: ";

    private string StaticUri => $"test://{Name}/static";

    private string CounterUri => $"test://{Name}/counter";

    /// <summary>
    /// stdio only: where <c>emit_raw</c> queues bytes; they are written after the next message (the tool's own
    /// answer), so that they always sit between two whole messages.
    /// </summary>
    public RawInjectingStream? RawOutput { get; set; }

    /// <summary>Fills the SDK server options; used for the stdio server and for every HTTP session.</summary>
    public void Configure(McpServerOptions options)
    {
        options.ServerInfo = new Implementation { Name = Name, Version = "1.0.0" };
        options.ServerInstructions = $"mcp-testserver '{Name}'.";
        options.ProtocolVersion = _options.ProtocolVersion;
        options.Capabilities ??= new ServerCapabilities();
        options.Capabilities.Resources = new ResourcesCapability { Subscribe = true };
        options.Capabilities.Completions = new CompletionsCapability();

        // Collections, not handlers: the SDK then sends */list_changed itself, right for every protocol era.
        options.ToolCollection = _tools;
        options.PromptCollection = _prompts;
        options.ResourceCollection = _resources;

        options.Handlers.CompleteHandler = (request, _) => ValueTask.FromResult(Complete(request.Params));
        options.Handlers.SubscribeToResourcesHandler = (request, cancellationToken) =>
        {
            _subscriptions[(request.Server.SessionId ?? "", request.Params!.Uri)] = request.Server;
            return ValueTask.FromResult(new EmptyResult());
        };
        options.Handlers.UnsubscribeFromResourcesHandler = (request, cancellationToken) =>
        {
            _subscriptions.TryRemove((request.Server.SessionId ?? "", request.Params!.Uri), out _);
            return ValueTask.FromResult(new EmptyResult());
        };

        options.Filters.Request.CallToolFilters.Add(next => async (request, cancellationToken) =>
        {
            var calls = Interlocked.Increment(ref _toolCalls);
            if (calls > _options.CrashAfter)
            {
                Crash($"--crash-after {_options.CrashAfter}: call {calls} arrived");
            }
            else if (calls == _options.CrashAfter)
            {
                Volatile.Write(ref _exitAfterResponseTo, request.JsonRpcRequest.Id);
            }

            if (_options.SlowMs > 0)
            {
                await Task.Delay(_options.SlowMs, cancellationToken);
            }

            return await next(request, cancellationToken);
        });

        // raw_result: its answer is replaced, on the way out, by the result it was given.
        options.Filters.Message.OutgoingFilters.Add(next => (context, cancellationToken) =>
        {
            if (context.JsonRpcMessage is JsonRpcResponse response && _rawResults.TryRemove(response.Id, out var raw))
            {
                context.JsonRpcMessage = new JsonRpcResponse { Id = response.Id, Result = raw, Context = response.Context };
            }

            return next(context, cancellationToken);
        });

        if (_options.CrashAfter is not null)
        {
            options.Filters.Message.OutgoingFilters.Add(next => async (context, cancellationToken) =>
            {
                await next(context, cancellationToken);
                if (context.JsonRpcMessage is JsonRpcResponse or JsonRpcError &&
                    Volatile.Read(ref _exitAfterResponseTo) is RequestId id &&
                    id.Equals(((JsonRpcMessageWithId)context.JsonRpcMessage).Id))
                {
                    // Over stdio the answer is on the pipe once next() returns. Over HTTP the server stops once the
                    // response that carries it is sent (see LastCallAnswered).
                    if (_options.HttpPort is null)
                    {
                        Crash($"--crash-after {_options.CrashAfter}: answered the last call");
                    }

                    Volatile.Write(ref _lastCallAnswered, true);
                }
            });
        }

        if (_options.Hang)
        {
            // Message filters run after the SDK's own per-request protocol checks: in a 2026-07-28 session a
            // ping (removed in that revision) is refused with -32601 before it gets here.
            options.Filters.Message.IncomingFilters.Add(next => async (context, cancellationToken) =>
            {
                if (context.JsonRpcMessage is JsonRpcRequest { Method: not (RequestMethods.Initialize or RequestMethods.ServerDiscover) })
                {
                    // The request token still fires on notifications/cancelled and at session end.
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }

                await next(context, cancellationToken);
            });
        }
    }

    private void AddTools()
    {
        Add("echo", "Echoes 'text' back as '<name>: <text>'.",
            ([Description("Text to echo.")] string text) => $"{Prefix}{text}");

        Add("read_only_echo", "Like echo, annotated readOnlyHint=true.",
            ([Description("Text to echo.")] string text) => $"{Prefix}{text}",
            readOnly: true);

        Add("add", "Adds a and b; the sum is also in structuredContent.sum.",
            (double a, double b) => new CallToolResult
            {
                Content = [new TextContentBlock { Text = $"{Prefix}{(a + b).ToString(CultureInfo.InvariantCulture)}" }],
                StructuredContent = JsonSerializer.SerializeToElement(new Dictionary<string, double> { ["sum"] = a + b }),
            },
            outputSchema: SumSchema);

        Add("slow", "Waits 'ms' milliseconds (cancellable), then answers.",
            async ([Description("Milliseconds to wait.")] int ms, CancellationToken cancellationToken) =>
            {
                try
                {
                    await Task.Delay(ms, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    Interlocked.Increment(ref _cancelled);
                    throw;
                }

                return $"{Prefix}slept {ms} ms";
            });

        Add("cancelled", "Answers how many 'slow' calls were cancelled by the client: '<name>: cancelled=<n>'.",
            () => $"{Prefix}cancelled={Volatile.Read(ref _cancelled)}",
            readOnly: true);

        Add("crash", "Exits the server process with code 3 in the middle of the call.",
            string () => Crash("tool 'crash' called"));

        Add("fail", "Returns a result with isError=true.",
            () => new CallToolResult { IsError = true, Content = [new TextContentBlock { Text = $"{Prefix}failed as asked" }] });

        Add("throw", "Answers with a JSON-RPC error (code -32603).",
            string () => throw new McpProtocolException($"{Prefix}threw as asked", McpErrorCode.InternalError));

        Add("progress", "Sends 'steps' progress notifications to the caller's progressToken, 'delayMs' apart, then answers.",
            async (int steps, RequestContext<CallToolRequestParams> request, CancellationToken cancellationToken, int delayMs = 0) =>
            {
                var token = request.Params?.ProgressToken;
                for (var step = 1; step <= steps; step++)
                {
                    if (delayMs > 0)
                    {
                        await Task.Delay(delayMs, cancellationToken);
                    }

                    if (token is { } progressToken)
                    {
                        await request.Server.NotifyProgressAsync(
                            progressToken,
                            new ProgressNotificationValue { Progress = step, Total = steps, Message = $"{Prefix}step {step}/{steps}" },
                            cancellationToken: cancellationToken);
                    }
                }

                return $"{Prefix}{steps} steps done";
            });

        Add("raw_result", "Answers with 'json' as its JSON-RPC result, exactly as given: fields and shapes the SDK would not build.",
            (RequestContext<CallToolRequestParams> request, [Description("The result, as JSON text.")] string json) =>
            {
                _rawResults[request.JsonRpcRequest.Id] = System.Text.Json.Nodes.JsonNode.Parse(json);
                return $"{Prefix}(replaced by the raw result)";
            });

        Add("big", "Returns a text of exactly 'kb' KiB (at least the name prefix).",
            ([Description("Size in KiB, 0 to 65536.")] int kb) =>
            {
                if (kb is < 0 or > 65536)
                {
                    throw new McpProtocolException($"{Prefix}kb must be from 0 to 65536", McpErrorCode.InvalidParams);
                }

                var prefix = Prefix;
                return prefix.PadRight(Math.Max(kb * 1024, prefix.Length), 'x');
            });

        Add("change_tools", "Adds a tool 'added_<n>'; the SDK then sends notifications/tools/list_changed.",
            () =>
            {
                var name = $"added_{Interlocked.Increment(ref _addedTools)}";
                lock (_toolsLock)
                {
                    _tools.Add(new TextTool(name, "Added by change_tools: echoes 'value'.", ValueSchema, Prefix));
                }

                return $"{Prefix}added {name}";
            });

        Add("remove_tool", "Removes the tool 'name'; the SDK then sends notifications/tools/list_changed.",
            ([Description("Tool to remove.")] string name) =>
            {
                lock (_toolsLock)
                {
                    if (_tools.TryGetPrimitive(name, out var tool) && _tools.Remove(tool))
                    {
                        return new CallToolResult { Content = [new TextContentBlock { Text = $"{Prefix}removed {name}" }] };
                    }
                }

                return new CallToolResult { IsError = true, Content = [new TextContentBlock { Text = $"{Prefix}no tool '{name}'" }] };
            });

        Add("mutate_description", "Changes the description of tool 'name' to 'description' (default: appends ' (changed <n>)'); the SDK then sends notifications/tools/list_changed.",
            ([Description("Tool to change.")] string name, [Description("The new description.")] string? description = null) =>
            {
                lock (_toolsLock)
                {
                    if (_tools.TryGetPrimitive(name, out var tool) && _tools.Remove(tool))
                    {
                        var text = description ?? $"{tool.ProtocolTool.Description} (changed {Interlocked.Increment(ref _mutations)})";
                        tool.ProtocolTool.Description = text;
                        _tools.Add(tool);
                        return new CallToolResult { Content = [new TextContentBlock { Text = $"{Prefix}described {name}: {text}" }] };
                    }
                }

                return new CallToolResult { IsError = true, Content = [new TextContentBlock { Text = $"{Prefix}no tool '{name}'" }] };
            });

        Add("emit_raw", "stdio only: after this answer, writes each of 'lines' (text) and of 'base64' (raw bytes, e.g. invalid UTF-8), then the 'junkBytes'/'logBytes' lines, to stdout, each followed by a newline: malformed and huge messages on demand.",
            (
                [Description("Text lines to write as they are.")] string[]? lines = null,
                [Description("Byte strings (base64) to write as they are.")] string[]? base64 = null,
                [Description("Also write one line of this many 'x' bytes (not JSON).")] int junkBytes = 0,
                [Description("Also write one valid notifications/message whose data is a string of this many bytes.")] int logBytes = 0) =>
            {
                if (RawOutput is not { } output)
                {
                    return new CallToolResult { IsError = true, Content = [new TextContentBlock { Text = $"{Prefix}emit_raw works over stdio only" }] };
                }

                var items = (lines ?? []).Select(System.Text.Encoding.UTF8.GetBytes).Concat((base64 ?? []).Select(Convert.FromBase64String)).ToList();
                if (junkBytes > 0)
                {
                    items.Add(System.Text.Encoding.ASCII.GetBytes(new string('x', junkBytes)));
                }

                if (logBytes > 0)
                {
                    items.Add(System.Text.Encoding.ASCII.GetBytes($$$"""{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","logger":"{{{Name}}}","data":"{{{new string('x', logBytes)}}}"}}"""));
                }

                output.Enqueue(items);
                return new CallToolResult { Content = [new TextContentBlock { Text = $"{Prefix}queued {items.Count}" }] };
            });

        Add("sample", "Asks the client for sampling/createMessage with 'prompt' and answers with the returned text.",
            async (string prompt, McpServer server, CancellationToken cancellationToken) =>
            {
                var result = await server.SampleAsync(
                    new CreateMessageRequestParams
                    {
                        Messages = [new SamplingMessage { Role = Role.User, Content = [new TextContentBlock { Text = prompt }] }],
                        MaxTokens = 100,
                    },
                    cancellationToken);
                return $"{Prefix}{string.Concat(result.Content.OfType<TextContentBlock>().Select(block => block.Text))}";
            });

        Add("elicit", "Asks the client for elicitation/create (one string field 'answer') and answers with action and content.",
            async (string message, McpServer server, CancellationToken cancellationToken) =>
            {
                var result = await server.ElicitAsync(
                    new ElicitRequestParams
                    {
                        Message = message,
                        RequestedSchema = new()
                        {
                            Properties = { ["answer"] = new ElicitRequestParams.StringSchema { Description = "Your answer." } },
                        },
                    },
                    cancellationToken);
                var content = result.Content is null ? "null" : JsonSerializer.Serialize(result.Content, McpJsonUtilities.DefaultOptions);
                return $"{Prefix}action={result.Action} content={content}";
            });

        Add("roots", "Asks the client for roots/list and answers with the root URIs, comma separated.",
            async (McpServer server, CancellationToken cancellationToken) =>
            {
                var result = await server.RequestRootsAsync(new ListRootsRequestParams(), cancellationToken);
                return $"{Prefix}roots={string.Join(",", result.Roots.Select(root => root.Uri))}";
            });

        Add("log", "Sends notifications/message with 'level' and 'message' (logger = server name).",
            async (LoggingLevel level, string message, McpServer server, CancellationToken cancellationToken) =>
            {
                await server.SendNotificationAsync(
                    NotificationMethods.LoggingMessageNotification,
                    new LoggingMessageNotificationParams
                    {
                        Level = level,
                        Logger = Name,
                        Data = JsonSerializer.SerializeToElement(message, McpJsonUtilities.DefaultOptions),
                    },
                    cancellationToken: cancellationToken);
                return $"{Prefix}logged";
            });

        Add("whoami", "Answers '<name>: pid=<pid>'; structuredContent has name and pid.",
            () => new CallToolResult
            {
                Content = [new TextContentBlock { Text = $"{Prefix}pid={Environment.ProcessId}" }],
                StructuredContent = JsonSerializer.SerializeToElement(
                    new Dictionary<string, object> { ["name"] = Name, ["pid"] = Environment.ProcessId }),
            });

        Add("bump", $"Increments the counter resource and sends notifications/resources/updated to its subscribers.",
            async () =>
            {
                var value = Interlocked.Increment(ref _counter);
                foreach (var ((session, uri), server) in _subscriptions)
                {
                    if (uri != CounterUri)
                    {
                        continue;
                    }

                    try
                    {
                        await server.SendNotificationAsync(
                            NotificationMethods.ResourceUpdatedNotification,
                            new ResourceUpdatedNotificationParams { Uri = uri });
                    }
                    catch (Exception)
                    {
                        // That session is gone; forget it.
                        _subscriptions.TryRemove((session, uri), out _);
                    }
                }

                return $"{Prefix}counter={value}";
            });
    }

    private void Add(string name, string description, Delegate handler, bool readOnly = false, JsonElement? outputSchema = null) =>
        _tools.Add(McpServerTool.Create(handler, new McpServerToolCreateOptions
        {
            Name = name,
            Description = description,
            ReadOnly = readOnly ? true : null,
            UseStructuredContent = outputSchema is not null,
            OutputSchema = outputSchema,
        }));

    private CompleteResult Complete(CompleteRequestParams? request)
    {
        string[] candidates = request switch
        {
            { Ref: PromptReference { Name: "greet" }, Argument.Name: "name" } => ["Alice", "Bob", "Carol"],
            { Ref: ResourceTemplateReference, Argument.Name: "id" } => ["1", "2", "3"],
            _ => [],
        };
        var prefix = request?.Argument.Value ?? "";
        var values = candidates.Where(value => value.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)).ToList();
        return new CompleteResult { Completion = new Completion { Values = values, Total = values.Count, HasMore = false } };
    }

    /// <summary>Over HTTP: whether the answer to the last call --crash-after allows has been handed to the transport.</summary>
    public bool LastCallAnswered => Volatile.Read(ref _lastCallAnswered);

    /// <summary>Says on stderr why the server is about to exit with <see cref="Program.CrashExitCode"/>.</summary>
    public static void ReportCrash(string reason) =>
        Console.Error.WriteLine($"mcp-testserver: {reason}; exiting with code {Program.CrashExitCode}");

    private static string Crash(string reason)
    {
        ReportCrash(reason);
        Environment.Exit(Program.CrashExitCode);
        throw new UnreachableException();
    }

    /// <summary>A tool with a fixed schema that answers '&lt;prefix&gt;&lt;tool&gt; &lt;value&gt;'; cheap to create by the thousand.</summary>
    private sealed class TextTool(string name, string description, JsonElement inputSchema, string prefix) : McpServerTool
    {
        public override Tool ProtocolTool { get; } = new() { Name = name, Description = description, InputSchema = inputSchema };

        public override IReadOnlyList<object> Metadata => [];

        public override ValueTask<CallToolResult> InvokeAsync(RequestContext<CallToolRequestParams> request, CancellationToken cancellationToken = default)
        {
            var value = request.Params?.Arguments is { } arguments && arguments.TryGetValue("value", out var element)
                ? element.ToString()
                : "";
            return ValueTask.FromResult(new CallToolResult { Content = [new TextContentBlock { Text = $"{prefix}{name} {value}" }] });
        }
    }
}
