using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;

namespace McpMultiProxy.Backends.Processes;

/// <summary>How to start one stdio backend.</summary>
internal sealed record ProcessLaunch(
    string Name,
    string Command,
    IReadOnlyList<string> Arguments,
    IReadOnlyDictionary<string, string> Environment,
    string? WorkingDirectory);

/// <summary>How long each step of a stop may take before the next, harder one.</summary>
internal sealed record ProcessStopTimes(TimeSpan AfterStdinClosed, TimeSpan AfterTerm, TimeSpan AfterKill)
{
    /// <summary>2 s to exit on end of input, 2 s after SIGTERM, then SIGKILL.</summary>
    public static ProcessStopTimes Default { get; } = new(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5));
}

/// <summary>
/// One stdio backend process, led by the proxy from start to reaping: started in a process group of its own
/// with only the environment it was given; stopped by closing its stdin, then SIGTERM to the group, then
/// SIGKILL to the group; and when it exits on its own, whatever it left running in its group is stopped too.
/// </summary>
internal sealed partial class BackendProcess
{
    private const int StderrTailLines = 10;

    private readonly Process _process;
    private readonly ProcessGroupWatchdog? _watchdog;
    private readonly ILogger _logger;
    private readonly string _name;
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Queue<string> _stderrTail = new();
    private int? _exitCode;
    private int _stopping;

    private BackendProcess(Process process, string name, bool ownsGroup, ProcessGroupWatchdog? watchdog, ILogger logger)
    {
        _process = process;
        _name = name;
        OwnsGroup = ownsGroup;
        _watchdog = watchdog;
        _logger = logger;
    }

    /// <summary>The process id (also the group id when <see cref="OwnsGroup"/>).</summary>
    public int Pid { get; private set; }

    /// <summary>True when it leads a process group of its own.</summary>
    public bool OwnsGroup { get; }

    /// <summary>Its stdin: messages to the backend.</summary>
    public Stream Input => _process.StandardInput.BaseStream;

    /// <summary>Its stdout: messages from the backend.</summary>
    public Stream Output => _process.StandardOutput.BaseStream;

    /// <summary>Completes when the process has exited and been reaped (not when its pipes close: a grandchild may hold them).</summary>
    public Task Exited => _exited.Task;

    /// <summary>The exit code once it has exited.</summary>
    public int? ExitCode => _exitCode;

    /// <summary>The last lines it wrote to stderr.</summary>
    public IReadOnlyList<string> StderrTail
    {
        get
        {
            lock (_stderrTail)
            {
                return [.. _stderrTail];
            }
        }
    }

    /// <summary>
    /// Starts the program. A program that cannot be found fails here with a message that says so, the same with
    /// or without the <c>setsid</c> wrapper (which would otherwise only exit with code 1).
    /// </summary>
    public static BackendProcess Start(ProcessLaunch launch, ProcessGroupWatchdog? watchdog, ILogger logger, Action<string>? stderrLine = null)
    {
        var program = ResolveProgram(launch);
        var setsid = ProcessGroups.SetsidPath;
        var startInfo = new ProcessStartInfo(setsid ?? program)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
            WorkingDirectory = launch.WorkingDirectory ?? Environment.CurrentDirectory,
            StandardInputEncoding = NoBomUtf8,
            StandardOutputEncoding = NoBomUtf8,
            StandardErrorEncoding = NoBomUtf8,
        };
        if (setsid is not null)
        {
            startInfo.ArgumentList.Add(program);
        }

        foreach (var argument in launch.Arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        // Only what the backend was given: the proxy's own variables (tokens, keys) never reach it.
        startInfo.Environment.Clear();
        foreach (var (key, value) in launch.Environment)
        {
            startInfo.Environment[key] = value;
        }

        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var backend = new BackendProcess(process, launch.Name, setsid is not null, watchdog, logger);
        process.Exited += (_, _) => backend.OnExited();
        process.ErrorDataReceived += (_, e) => backend.OnStderr(e.Data, stderrLine);
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            process.Dispose();
            throw new BackendStartException($"the program '{launch.Command}' could not be started: {ex.Message}", ex);
        }

        backend.Pid = process.Id;
        if (backend.OwnsGroup)
        {
            watchdog?.Register(backend.Pid);
        }

        process.BeginErrorReadLine();
        LogStarted(logger, launch.Name, backend.Pid, backend.OwnsGroup);
        return backend;
    }

    /// <summary>
    /// Stops it: end of input first (a well-behaved server exits), then SIGTERM to its group, then SIGKILL to
    /// its group, then waits until it is reaped. Anything it left in its group is stopped as well. Idempotent.
    /// </summary>
    public async Task StopAsync(ProcessStopTimes times)
    {
        if (Interlocked.Exchange(ref _stopping, 1) == 1)
        {
            await _stopped.Task.ConfigureAwait(false);
            return;
        }

        try
        {
            CloseInput();
            if (!await WaitForExitAsync(times.AfterStdinClosed).ConfigureAwait(false))
            {
                LogEscalating(_logger, _name, Pid, "it did not exit after its input was closed", "SIGTERM");
                Signal(ProcessGroups.SigTerm);
                if (!await WaitForExitAsync(times.AfterTerm).ConfigureAwait(false))
                {
                    LogEscalating(_logger, _name, Pid, "it ignored SIGTERM", "SIGKILL");
                    Signal(ProcessGroups.SigKill);
                    await WaitForExitAsync(times.AfterKill).ConfigureAwait(false);
                }
            }

            await StopLeftoversAsync(times).ConfigureAwait(false);
        }
        finally
        {
            Release();
            _stopped.TrySetResult();
        }
    }

    /// <summary>
    /// After it exited on its own: stops what it left running in its group (a grandchild that holds its stdout
    /// would otherwise keep the session open, and live on as an orphan).
    /// </summary>
    public async Task StopLeftoversAsync(ProcessStopTimes times)
    {
        if (!OwnsGroup || !ProcessGroups.HasLiveMembers(Pid))
        {
            return;
        }

        LogLeftovers(_logger, _name, Pid);
        ProcessGroups.Signal(Pid, ProcessGroups.SigTerm);
        var deadline = Stopwatch.GetTimestamp() + (long)(times.AfterTerm.TotalSeconds * Stopwatch.Frequency);
        while (ProcessGroups.HasLiveMembers(Pid))
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                ProcessGroups.Signal(Pid, ProcessGroups.SigKill);
                return;
            }

            // Polling /proc: the proxy is not the parent of these processes, so no exit event reaches it.
            await Task.Delay(50).ConfigureAwait(false);
        }
    }

    private static readonly UTF8Encoding NoBomUtf8 = new(encoderShouldEmitUTF8Identifier: false);

    private void Signal(int signal)
    {
        if (OwnsGroup)
        {
            ProcessGroups.Signal(Pid, signal);
        }
        else if (signal == ProcessGroups.SigKill)
        {
            // No group of its own: the tree that can still be seen is the best there is.
            try
            {
                _process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }
        }
        else
        {
            ProcessGroups.SignalProcess(Pid, signal);
        }
    }

    private void CloseInput()
    {
        try
        {
            _process.StandardInput.Close();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // Already closed, or the pipe broke because it exited.
        }
    }

    private async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        if (_exited.Task.IsCompleted)
        {
            return true;
        }

        // Real time on purpose: this waits on the kernel, not on proxy logic that tests drive with a fake clock.
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _exited.Task.WaitAsync(cts.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private void Release()
    {
        if (OwnsGroup)
        {
            _watchdog?.Unregister(Pid);
        }

        if (_exited.Task.IsCompleted)
        {
            _process.Dispose();
        }
    }

    private void OnExited()
    {
        try
        {
            _exitCode = _process.ExitCode;
        }
        catch (InvalidOperationException)
        {
        }

        LogExited(_logger, _name, Pid, _exitCode);
        _exited.TrySetResult();
    }

    private void OnStderr(string? line, Action<string>? callback)
    {
        if (line is null)
        {
            return;
        }

        lock (_stderrTail)
        {
            if (_stderrTail.Count == StderrTailLines)
            {
                _stderrTail.Dequeue();
            }

            _stderrTail.Enqueue(line);
        }

        callback?.Invoke(line);
    }

    /// <summary>Finds the program like <c>execvp</c> would, in the PATH the backend gets.</summary>
    private static string ResolveProgram(ProcessLaunch launch)
    {
        var command = launch.Command;
        var directory = launch.WorkingDirectory ?? Environment.CurrentDirectory;
        if (command.Contains('/', StringComparison.Ordinal))
        {
            var path = Path.GetFullPath(command, directory);
            return IsExecutable(path) ? path : throw new BackendStartException($"the program '{command}' does not exist or is not executable ({path}).");
        }

        var searchPath = launch.Environment.TryGetValue("PATH", out var p) ? p : Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var dir in searchPath.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(Path.GetFullPath(dir, directory), command);
            if (IsExecutable(candidate))
            {
                return candidate;
            }
        }

        throw new BackendStartException($"the program '{command}' was not found on PATH ({searchPath}). Give its full path in 'command', or install it.");
    }

    private static bool IsExecutable(string path)
    {
        if (!File.Exists(path))
        {
            return false;
        }

        if (OperatingSystem.IsWindows())
        {
            return true;
        }

        const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        return (File.GetUnixFileMode(path) & anyExecute) != 0;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Backend}: started process {Pid} (own process group: {OwnGroup})")]
    private static partial void LogStarted(ILogger logger, string backend, int pid, bool ownGroup);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Backend}: process {Pid} exited with code {Code}")]
    private static partial void LogExited(ILogger logger, string backend, int pid, int? code);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Backend}: process {Pid}: {Reason}; sending {Signal} to its process group")]
    private static partial void LogEscalating(ILogger logger, string backend, int pid, string reason, string signal);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Backend}: process {Pid} left processes running in its group; stopping them")]
    private static partial void LogLeftovers(ILogger logger, string backend, int pid);
}

/// <summary>A stdio backend's program could not be started; the message says why.</summary>
public sealed class BackendStartException : Exception
{
    /// <summary>Creates the exception.</summary>
    public BackendStartException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with an inner exception.</summary>
    public BackendStartException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an empty exception.</summary>
    public BackendStartException()
    {
    }
}
