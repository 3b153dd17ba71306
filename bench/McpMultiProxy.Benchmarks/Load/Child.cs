using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace McpMultiProxy.Benchmarks.Load;

/// <summary>
/// A process the benchmark started (proxy or backend): its output lines, CPU time and memory read from
/// <c>/proc</c>, and a stop that closes stdin, waits briefly, then kills the tree by this handle.
/// </summary>
internal sealed partial class Child : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly SemaphoreSlim _lineArrived = new(0);

    private Child(Process process, long startedAt)
    {
        _process = process;
        StartedAt = startedAt;
    }

    /// <summary>The process id.</summary>
    public int Pid => _process.Id;

    /// <summary><see cref="Stopwatch.GetTimestamp"/> just before the process was started.</summary>
    public long StartedAt { get; }

    /// <summary>Every stdout and stderr line so far (for error messages).</summary>
    public IEnumerable<string> Lines => _lines;

    /// <summary>Starts <paramref name="command"/> with stdin, stdout and stderr redirected.</summary>
    public static Child Start(string command, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null)
    {
        var info = new ProcessStartInfo(command)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in env ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var started = Stopwatch.GetTimestamp();
        var process = new Process { StartInfo = info };
        var child = new Child(process, started);
        process.OutputDataReceived += (_, e) => child.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => child.OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Waits for a line starting with <paramref name="prefix"/> and returns the rest of it.</summary>
    public async Task<string> WaitForLineAsync(string prefix, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var seen = 0;
        while (true)
        {
            var lines = _lines.ToArray();
            for (; seen < lines.Length; seen++)
            {
                if (lines[seen].StartsWith(prefix, StringComparison.Ordinal))
                {
                    return lines[seen][prefix.Length..].Trim();
                }
            }

            var left = deadline - Stopwatch.GetTimestamp();
            if (_process.HasExited || left <= 0)
            {
                throw new InvalidOperationException(
                    $"'{_process.StartInfo.FileName} {string.Join(' ', _process.StartInfo.ArgumentList)}' did not print '{prefix}' "
                    + $"({(_process.HasExited ? $"exited with {_process.ExitCode}" : "timed out")}). Output:\n  {string.Join("\n  ", _lines.TakeLast(30))}");
            }

            await _lineArrived.WaitAsync(TimeSpan.FromMilliseconds(Math.Min(100, Math.Max(1, left * 1000 / Stopwatch.Frequency))));
        }
    }

    /// <summary>User + system CPU time of the process (all threads), from <c>/proc/PID/stat</c>.</summary>
    public TimeSpan CpuTime()
    {
        _process.Refresh();
        return _process.TotalProcessorTime;
    }

    /// <summary>Voluntary context switches of all the process's threads: how often its threads went to sleep waiting for work (thread hops).</summary>
    public long VoluntarySwitches()
    {
        long total = 0;
        foreach (var task in Directory.EnumerateDirectories($"/proc/{Pid}/task"))
        {
            try
            {
                foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                {
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal))
                    {
                        total += long.Parse(line["voluntary_ctxt_switches:".Length..].Trim(), CultureInfo.InvariantCulture);
                    }
                }
            }
            catch (IOException)
            {
                // The thread ended meanwhile.
            }
        }

        return total;
    }

    /// <summary>A <c>/proc/PID/status</c> figure in KiB, e.g. <c>VmRSS</c> (resident now) or <c>VmHWM</c> (peak resident).</summary>
    public long StatusKiB(string field)
    {
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"/proc/{Pid}/status has no {field}");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                // stdin EOF stops our backends and a stdio proxy, SIGTERM an HTTP proxy (which then stops its own
                // children); give them a moment, then kill the tree by handle.
                _process.StandardInput.Close();
                _ = NativeMethods.Kill(_process.Id, NativeMethods.SigTerm);
                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                try
                {
                    await _process.WaitForExitAsync(grace.Token);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill(entireProcessTree: true);
                    await _process.WaitForExitAsync();
                }
            }
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }
        finally
        {
            _process.Dispose();
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        _lines.Enqueue(line);
        _lineArrived.Release();
    }

    private static partial class NativeMethods
    {
        public const int SigTerm = 15;

        [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
        public static partial int Kill(int pid, int signal);
    }
}
