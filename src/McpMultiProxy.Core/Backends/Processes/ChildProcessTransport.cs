using System.Threading.Channels;
using McpMultiProxy.Security;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace McpMultiProxy.Backends.Processes;

/// <summary>
/// The stdio transport of a backend: a <see cref="BackendProcess"/> with the SDK's own stream transport on its
/// stdin/stdout. It exists because the SDK's <see cref="StdioClientTransport"/> (2.3.1) falls short for a proxy
/// that must never leak processes: it never closes the child's stdin before killing it (so a server is never
/// offered a graceful exit), kills with SIGKILL only the tree it can still walk (grandchildren whose parent
/// already died are missed), and notices a crash only when stdout reaches end-of-file, which never happens
/// while a grandchild holds the pipe (calls in flight then hang). See ChildProcessTransportTests.
/// </summary>
internal sealed partial class ChildProcessTransport(
    ProcessLaunch launch,
    ProcessGroupWatchdog? watchdog,
    ProcessStopTimes stopTimes,
    ILoggerFactory loggerFactory,
    Action<string>? stderrLine = null,
    long maxLineBytes = SecuritySettings.DefaultMaxBackendMessageBytes)
    : IClientTransport
{
    /// <inheritdoc/>
    public string Name => launch.Name;

    /// <inheritdoc/>
    public async Task<ITransport> ConnectAsync(CancellationToken cancellationToken = default)
    {
        var logger = loggerFactory.CreateLogger<ChildProcessTransport>();
        var process = BackendProcess.Start(launch, watchdog, logger, stderrLine);
        try
        {
            // The SDK reads a line whole, however long: a backend's endless line is cut at proxy.maxBackendMessageBytes.
            var output = new LineLengthLimitStream(process.Output, maxLineBytes, dropped => LogLineCut(logger, launch.Name, maxLineBytes, dropped));
            var inner = await new StreamClientTransport(process.Input, output, loggerFactory).ConnectAsync(cancellationToken).ConfigureAwait(false);
            return new Session(inner, process, stopTimes);
        }
        catch
        {
            await process.StopAsync(stopTimes).ConfigureAwait(false);
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Backend}: a message longer than {Limit} bytes was cut and dropped ({Dropped} bytes; proxy.maxBackendMessageBytes)")]
    private static partial void LogLineCut(ILogger logger, string backend, long limit, long dropped);

    /// <summary>
    /// One connected process. Its end is reported through <see cref="MessageReader"/>'s completion as
    /// <see cref="StdioClientCompletionDetails"/> (exit code, pid, stderr tail), like the SDK's stdio transport.
    /// </summary>
    private sealed class Session : ITransport
    {
        // After the process and its group are gone, how long the pipe may stay open (held by something that
        // left the group) before the session is ended anyway, so that no call waits on a dead backend.
        private static readonly TimeSpan PipeCloseWait = TimeSpan.FromMilliseconds(500);

        private readonly ITransport _inner;
        private readonly BackendProcess _process;
        private readonly ProcessStopTimes _stopTimes;
        private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly EndReportingReader _reader;
        private int _disposed;
        private int _finished;

        public Session(ITransport inner, BackendProcess process, ProcessStopTimes stopTimes)
        {
            _inner = inner;
            _process = process;
            _stopTimes = stopTimes;
            _reader = new EndReportingReader(inner.MessageReader, this);
            _ = WatchExitAsync();
        }

        public string? SessionId => _inner.SessionId;

        public ChannelReader<JsonRpcMessage> MessageReader => _reader;

        public async Task SendMessageAsync(JsonRpcMessage message, CancellationToken cancellationToken = default)
        {
            // A write that fails never delivered a whole line, so the backend cannot have acted on it: saying so
            // lets the proxy retry the call elsewhere even when the tool is not idempotent.
            if (_process.Exited.IsCompleted)
            {
                throw new MessageNotSentException($"the process has exited (code {_process.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"})");
            }

            try
            {
                await _inner.SendMessageAsync(message, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                throw new MessageNotSentException($"the process did not take the message: {ex.Message}", ex);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1)
            {
                return;
            }

            await _process.StopAsync(_stopTimes).ConfigureAwait(false);
            await _inner.DisposeAsync().ConfigureAwait(false);
            await FinishAsync(null).ConfigureAwait(false);
        }

        /// <summary>Completes the reader's <see cref="ChannelReader{T}.Completion"/> with the details of the end.</summary>
        internal async Task FinishAsync(Exception? error)
        {
            if (Interlocked.Exchange(ref _finished, 1) == 1)
            {
                // Completed (faulted with the details) by the first caller; only wait for it.
                await ((Task)_completion.Task).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                return;
            }

            // stdout usually closes a moment before the exit is reaped: wait briefly so the exit code is known.
            await Task.WhenAny(_process.Exited, Task.Delay(TimeSpan.FromSeconds(1))).ConfigureAwait(false);
            var stopping = Volatile.Read(ref _disposed) == 1;
            var details = new StdioClientCompletionDetails
            {
                ProcessId = _process.Pid,
                ExitCode = _process.ExitCode,
                StandardErrorTail = _process.StderrTail,
                Exception = error ?? (stopping ? null : new IOException(_process.ExitCode is { } code
                    ? $"the process exited with code {code}"
                    : "the process closed its output")),
            };
            _completion.TrySetException(new ClientTransportClosedException(details));
        }

        internal Task CompletionTask => _completion.Task;

        private async Task WatchExitAsync()
        {
            await _process.Exited.ConfigureAwait(false);
            if (Volatile.Read(ref _disposed) == 1)
            {
                return;
            }

            await _process.StopLeftoversAsync(_stopTimes).ConfigureAwait(false);
            await Task.WhenAny(_inner.MessageReader.Completion, Task.Delay(PipeCloseWait)).ConfigureAwait(false);
            if (!_inner.MessageReader.Completion.IsCompleted && Volatile.Read(ref _disposed) == 0)
            {
                // Something outside the group still holds stdout: end the session anyway (fails calls in flight).
                await _inner.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Passes the SDK's messages through, and reports the end with details of our own before telling the SDK
    /// that no more messages will come, so calls in flight fail with the exit code in hand.
    /// </summary>
    private sealed class EndReportingReader(ChannelReader<JsonRpcMessage> inner, Session session) : ChannelReader<JsonRpcMessage>
    {
        public override Task Completion => session.CompletionTask;

        public override bool TryRead(out JsonRpcMessage item) => inner.TryRead(out item!);

        public override bool TryPeek(out JsonRpcMessage item) => inner.TryPeek(out item!);

        public override async ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default)
        {
            Exception? error = null;
            try
            {
                if (await inner.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    return true;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                error = ex;
            }

            await session.FinishAsync(error).ConfigureAwait(false);
            return false;
        }
    }
}
