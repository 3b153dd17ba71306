using System.Diagnostics;
using System.Text;

namespace McpMultiProxy.Tests.Infrastructure;

/// <summary>
/// A process started by a test and stopped by that test through its own handle: <see cref="Kill"/> and
/// <see cref="DisposeAsync"/> kill the whole tree, never anything found by name. Output lines are kept for
/// assertions and for failure messages; stdout can instead be left unread when it carries the MCP protocol.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    /// <summary>How long launchers wait for a start-up line; generous because the machine may be busy.</summary>
    public static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Grace period between closing a stdio server's stdin and killing it (SDK default: 5 s). Short, because
    /// some servers never exit on stdin EOF: server-everything (its timers keep Node alive) and mcp-testserver
    /// with a request stuck in --hang.
    /// </summary>
    public static readonly TimeSpan StdioShutdownTimeout = TimeSpan.FromSeconds(1);

    private int _disposed;
    private readonly Process _process;
    private readonly string _description;
    private readonly object _lock = new();
    private readonly List<string> _stdout = [];
    private readonly List<string> _stderr = [];
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Found)> _waiters = [];

    private ChildProcess(Process process, string description)
    {
        _process = process;
        _description = description;
    }

    /// <summary>The process id.</summary>
    public int Pid => _process.Id;

    /// <summary>The child's stdin (always redirected, so the child never reads the test runner's).</summary>
    public Stream StandardInput => _process.StandardInput.BaseStream;

    /// <summary>The child's stdout as a raw stream; only when started with <c>stdoutIsProtocol: true</c>.</summary>
    public Stream StandardOutput => _process.StandardOutput.BaseStream;

    public bool HasExited => _process.HasExited;

    public IReadOnlyList<string> StdoutLines
    {
        get
        {
            lock (_lock)
            {
                return [.. _stdout];
            }
        }
    }

    public IReadOnlyList<string> StderrLines
    {
        get
        {
            lock (_lock)
            {
                return [.. _stderr];
            }
        }
    }

    /// <summary>Starts <paramref name="fileName"/> with <paramref name="arguments"/>.</summary>
    /// <param name="environment">Variables to set (null value: remove) on top of this process's environment.</param>
    /// <param name="stdoutIsProtocol">Leave stdout unread for the caller (an MCP stdio channel).</param>
    public static ChildProcess Start(
        string fileName,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string?>? environment = null,
        string? workingDirectory = null,
        bool stdoutIsProtocol = false)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = stdoutIsProtocol ? null : Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                startInfo.Environment.Remove(name);
            }
            else
            {
                startInfo.Environment[name] = value;
            }
        }

        var description = $"{Path.GetFileName(fileName)} {string.Join(' ', startInfo.ArgumentList)}";
        var process = new Process { StartInfo = startInfo };
        var child = new ChildProcess(process, description);
        process.ErrorDataReceived += (_, e) => child.OnLine(child._stderr, e.Data);
        if (!stdoutIsProtocol)
        {
            process.OutputDataReceived += (_, e) => child.OnLine(child._stdout, e.Data);
        }

        if (!process.Start())
        {
            throw new InvalidOperationException($"could not start {description}");
        }

        process.BeginErrorReadLine();
        if (!stdoutIsProtocol)
        {
            process.BeginOutputReadLine();
        }

        return child;
    }

    /// <summary>
    /// Waits for an output line (stdout or stderr, past or future) that matches; fails early, with the output
    /// so far, if the process exits first.
    /// </summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        TaskCompletionSource<string> found = new(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (_stdout.Concat(_stderr).FirstOrDefault(match) is { } line)
            {
                return line;
            }

            _waiters.Add((match, found));
        }

        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout ?? StartupTimeout);
        var exited = _process.WaitForExitAsync(timeoutSource.Token);
        await Task.WhenAny(found.Task, exited);
        if (found.Task.IsCompleted)
        {
            return await found.Task;
        }

        lock (_lock)
        {
            _waiters.RemoveAll(waiter => waiter.Found == found);
        }

        cancellationToken.ThrowIfCancellationRequested();
        throw exited.IsCompletedSuccessfully
            ? new InvalidOperationException($"The process exited before printing the expected line: {Describe()}")
            : new TimeoutException($"The process did not print the expected line within {timeout ?? StartupTimeout}: {Describe()}");
    }

    /// <summary>Waits for the process to exit and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        using var timeoutSource = new CancellationTokenSource(timeout ?? StartupTimeout);
        try
        {
            await _process.WaitForExitAsync(timeoutSource.Token);
        }
        catch (OperationCanceledException) when (timeoutSource.IsCancellationRequested)
        {
            throw new TimeoutException($"The process did not exit within {timeout ?? StartupTimeout}: {Describe()}");
        }

        return _process.ExitCode;
    }

    /// <summary>Closes the child's stdin: end of input, which is how a client says goodbye to a stdio server.</summary>
    public void CloseStandardInput()
    {
        try
        {
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The child is already gone.
        }
    }

    /// <summary>Kills the process and all its descendants, through this handle. No-op once it has exited.</summary>
    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited (or never started).
        }
    }

    /// <summary>The command line, pid and all output so far: for failure messages.</summary>
    public string Describe()
    {
        lock (_lock)
        {
            var text = new StringBuilder($"[pid {_process.Id}] {_description}");
            if (_process.HasExited)
            {
                text.Append($" (exited with code {_process.ExitCode})");
            }

            foreach (var line in _stdout)
            {
                text.Append("\n  stdout| ").Append(line);
            }

            foreach (var line in _stderr)
            {
                text.Append("\n  stderr| ").Append(line);
            }

            return text.ToString();
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Safe to call twice: a test may stop a process early and still hold it in an 'await using'.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        Kill();
        try
        {
            await WaitForExitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            // Nothing more we can do by handle; don't hide the test's own outcome.
        }

        _process.Dispose();
    }

    private void OnLine(List<string> lines, string? line)
    {
        if (line is null)
        {
            return;
        }

        List<TaskCompletionSource<string>> matched = [];
        lock (_lock)
        {
            lines.Add(line);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(line))
                {
                    matched.Add(_waiters[i].Found);
                    _waiters.RemoveAt(i);
                }
            }
        }

        foreach (var found in matched)
        {
            found.TrySetResult(line);
        }
    }
}
