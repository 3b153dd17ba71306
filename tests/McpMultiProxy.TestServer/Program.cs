using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Server;

namespace McpMultiProxy.TestServer;

/// <summary>
/// mcp-testserver: a real MCP server (built on the SDK) whose misbehaviour is chosen on the command line,
/// so integration tests and benchmarks can drive a proxy against every failure a backend can show.
/// </summary>
internal static class Program
{
    /// <summary>Exit code of <c>--fail-start</c>.</summary>
    public const int FailStartExitCode = 2;

    /// <summary>Exit code of the <c>crash</c> tool and of <c>--crash-after</c>.</summary>
    public const int CrashExitCode = 3;

    /// <summary>Exit code for a bad command line.</summary>
    public const int UsageExitCode = 64;

    private const string Usage = """
        usage: mcp-testserver [options]            (stdio by default)
          --http PORT            serve streamable HTTP on 127.0.0.1:PORT/mcp (0 = free port); prints
                                 "LISTENING http://127.0.0.1:<port>/mcp" on stdout
          --session-mode MODE    HTTP only: stateful (default) | hybrid | stateless
          --name NAME            server name, and prefix of every text answer (default: test)
          --tools N              add generated tools tool_0 .. tool_{N-1}
          --extra-tool NAME      add a tool named NAME that echoes 'value' (repeatable; e.g. 'manage' to collide)
          --slow MS              delay every tool call by MS milliseconds
          --crash-after N        exit with code 3 right after answering the N-th tool call
          --hang                 answer the handshake (initialize, server/discover) only; every other request
                                 waits forever, until cancelled (alias --hang-after-init)
          --protocol-version V   pin the SDK server to one revision, e.g. 2025-11-25 to act like the npm
                                 servers (clients' server/discover probe fails, they fall back to initialize)
                                 or 2026-07-28 to refuse initialize; default: every revision the SDK knows
          --garbage              stdio only: write non-JSON lines to stdout at start and after every message
          --fail-start           exit with code 2 at once
          --spawn-child          start a grandchild 'sleep 1000' and print "CHILD_PID <pid>" on stderr
          --pid-file PATH        write the process id to PATH
          --verbose              SDK logs at Debug on stderr (default: Warning)
        """;

    public static async Task<int> Main(string[] args)
    {
        TestServerOptions options;
        try
        {
            options = TestServerOptions.Parse(args);
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync($"mcp-testserver: {ex.Message}{Environment.NewLine}{Usage}");
            return UsageExitCode;
        }

        if (options.Help)
        {
            await Console.Error.WriteLineAsync(Usage);
            return 0;
        }

        if (options.PidFile is { } pidFile)
        {
            await File.WriteAllTextAsync(pidFile, Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        }

        if (options.FailStart)
        {
            await Console.Error.WriteLineAsync($"mcp-testserver {options.Name}: --fail-start, exiting with code {FailStartExitCode}");
            return FailStartExitCode;
        }

        if (options.SpawnChild)
        {
            // Not redirected on purpose: the grandchild inherits our stdio like the children of npx/uvx do,
            // so only a process-tree kill gets rid of it.
            using var child = Process.Start(new ProcessStartInfo("sleep", "1000") { UseShellExecute = false })
                ?? throw new InvalidOperationException("could not start 'sleep'");
            await Console.Error.WriteLineAsync($"CHILD_PID {child.Id}");
        }

        var features = new TestServerFeatures(options);
        if (options.HttpPort is { } port)
        {
            return await RunHttpAsync(options, port, features);
        }

        await RunStdioAsync(options, features);
        return 0;
    }

    private static async Task RunStdioAsync(TestServerOptions options, TestServerFeatures features)
    {
        using var loggerFactory = LoggerFactory.Create(logging => ConfigureLogging(logging, options));

        var raw = new RawInjectingStream(Console.OpenStandardOutput(), options.Garbage);
        if (options.Garbage)
        {
            await raw.FlushAsync(); // garbage before the first valid message
        }

        features.RawOutput = raw;
        Stream stdout = raw;

        var serverOptions = new McpServerOptions();
        features.Configure(serverOptions);

        await using var transport = new StreamServerTransport(Console.OpenStandardInput(), stdout, options.Name, loggerFactory);
        await using var server = McpServer.Create(transport, serverOptions, loggerFactory);
        await server.RunAsync();
    }

    /// <summary>Serves until stopped; returns the exit code (<see cref="CrashExitCode"/> after --crash-after's last answer).</summary>
    private static async Task<int> RunHttpAsync(TestServerOptions options, int port, TestServerFeatures features)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        ConfigureLogging(builder.Logging, options);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        builder.Services
            .AddMcpServer(features.Configure)
            .WithHttpTransport(http =>
            {
                // The SDK's default is Stateless since the 2026-07-28 revision: no session, no list_changed,
                // no server-to-client requests. A backend that exercises all of those must keep sessions.
                http.SessionMode = options.SessionMode;
            });

        // --crash-after over HTTP: once the last answer's response is sent, the host stops gracefully and the process
        // exits with code 3. Exiting on the spot, even from the response's OnCompleted, lost that answer now and then
        // under load ("POST response completed without a reply").
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(5));
        await using var app = builder.Build();
        var crashed = 0;
        if (options.CrashAfter is not null)
        {
            app.Use((context, next) =>
            {
                context.Response.OnCompleted(() =>
                {
                    if (features.LastCallAnswered && Interlocked.Exchange(ref crashed, 1) == 0)
                    {
                        TestServerFeatures.ReportCrash($"--crash-after {options.CrashAfter}: answered the last call");
                        app.Lifetime.StopApplication();
                    }

                    return Task.CompletedTask;
                });
                return next(context);
            });
        }

        app.MapMcp("/mcp");
        await app.StartAsync();

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var boundPort = new Uri(address).Port;
        await Console.Out.WriteLineAsync($"LISTENING http://127.0.0.1:{boundPort}/mcp");
        await Console.Out.FlushAsync();

        await app.WaitForShutdownAsync();
        return Volatile.Read(ref crashed) == 1 ? CrashExitCode : 0;
    }

    private static void ConfigureLogging(ILoggingBuilder logging, TestServerOptions options) =>
        logging
            .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace)
            .SetMinimumLevel(options.Verbose ? LogLevel.Debug : LogLevel.Warning);
}

/// <summary>The parsed command line of mcp-testserver.</summary>
internal sealed record TestServerOptions
{
    public string Name { get; init; } = "test";
    public int? HttpPort { get; init; }
    public HttpServerSessionMode SessionMode { get; init; } = HttpServerSessionMode.Stateful;
    public int GeneratedTools { get; init; }
    public IReadOnlyList<string> ExtraTools { get; init; } = [];
    public int SlowMs { get; init; }
    public int? CrashAfter { get; init; }
    public bool Hang { get; init; }
    public string? ProtocolVersion { get; init; }
    public bool Garbage { get; init; }
    public bool FailStart { get; init; }
    public bool SpawnChild { get; init; }
    public string? PidFile { get; init; }
    public bool Verbose { get; init; }
    public bool Help { get; init; }

    public static TestServerOptions Parse(IReadOnlyList<string> args)
    {
        var options = new TestServerOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            options = arg switch
            {
                "--name" => options with { Name = Value() },
                "--http" => options with { HttpPort = Int(max: 65535) },
                "--session-mode" => options with { SessionMode = ParseSessionMode(Value()) },
                "--tools" => options with { GeneratedTools = Int(max: 100_000) },
                "--extra-tool" => options with { ExtraTools = [.. options.ExtraTools, Value()] },
                "--slow" => options with { SlowMs = Int() },
                "--crash-after" => options with { CrashAfter = Int() },
                "--hang" or "--hang-after-init" => options with { Hang = true },
                "--protocol-version" => options with { ProtocolVersion = Value() },
                "--garbage" => options with { Garbage = true },
                "--fail-start" => options with { FailStart = true },
                "--spawn-child" => options with { SpawnChild = true },
                "--pid-file" => options with { PidFile = Value() },
                "--verbose" => options with { Verbose = true },
                "--help" or "-h" => options with { Help = true },
                _ => throw new ArgumentException($"unknown option '{arg}'"),
            };

            string Value() =>
                i + 1 < args.Count ? args[++i] : throw new ArgumentException($"option '{arg}' needs a value");

            int Int(int max = int.MaxValue)
            {
                var text = Value();
                return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value <= max
                    ? value
                    : throw new ArgumentException($"option '{arg}' needs a whole number from 0 to {max}, not '{text}'");
            }
        }

        if (options.Name.Length == 0 || !options.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            throw new ArgumentException($"--name '{options.Name}' must be non-empty and use only letters, digits, '-', '_' and '.' (it is part of resource URIs)");
        }

        return options;
    }

    private static HttpServerSessionMode ParseSessionMode(string text) => text switch
    {
        "stateful" => HttpServerSessionMode.Stateful,
        "hybrid" => HttpServerSessionMode.StatefulForInitializeClients,
        "stateless" => HttpServerSessionMode.Stateless,
        _ => throw new ArgumentException($"--session-mode must be stateful, hybrid or stateless, not '{text}'"),
    };
}

/// <summary>
/// Wraps stdout for the <c>emit_raw</c> tool: queued byte strings are written, each with a newline, when the
/// SDK flushes the next message (it writes a message, its newline, then flushes, under its send lock). With
/// <paramref name="garbage"/> (<c>--garbage</c>) every flush also writes a non-JSON line, so garbage always sits
/// between messages.
/// </summary>
internal sealed class RawInjectingStream(Stream inner, bool garbage = false) : Stream
{
    private static readonly byte[] Newline = "\n"u8.ToArray();
    private readonly System.Collections.Concurrent.ConcurrentQueue<byte[]> _queue = new();
    private int _garbageLines;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public void Enqueue(IEnumerable<byte[]> items)
    {
        foreach (var item in items)
        {
            _queue.Enqueue(item);
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        inner.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override void Flush()
    {
        while (_queue.TryDequeue(out var item))
        {
            inner.Write(item);
            inner.Write(Newline);
        }

        if (garbage)
        {
            inner.Write(NextGarbageLine());
        }

        inner.Flush();
    }

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        while (_queue.TryDequeue(out var item))
        {
            await inner.WriteAsync(item, cancellationToken);
            await inner.WriteAsync(Newline, cancellationToken);
        }

        if (garbage)
        {
            await inner.WriteAsync(NextGarbageLine(), cancellationToken);
        }

        await inner.FlushAsync(cancellationToken);
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private byte[] NextGarbageLine() =>
        System.Text.Encoding.UTF8.GetBytes($"garbage line {++_garbageLines}: this is not JSON-RPC\n");
}
