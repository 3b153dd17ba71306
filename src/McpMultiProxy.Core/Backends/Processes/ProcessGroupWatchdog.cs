using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace McpMultiProxy.Backends.Processes;

/// <summary>
/// Stops the backends' process groups when the proxy dies without stopping them itself (SIGKILL, a crash,
/// the OOM killer). A tiny <c>/bin/sh</c> script in a session of its own reads "+PGID" / "-PGID" lines from a
/// pipe whose other end only the proxy holds; when the proxy is gone the pipe reaches end-of-file and the
/// script TERMs every group still registered, then KILLs what is left two seconds later.
/// </summary>
/// <remarks>
/// Why not <c>PR_SET_PDEATHSIG</c> (<c>setpriv --pdeathsig</c>): it fires when the <em>thread</em> that forked
/// the child exits, and .NET starts processes from thread-pool threads that come and go, so backends would
/// be killed at random; it would also reach only the direct child, not its group.
/// </remarks>
internal sealed partial class ProcessGroupWatchdog : IAsyncDisposable
{
    // dash-compatible. stdout/stderr go to /dev/null at once so the script never writes into the pipes .NET
    // gave it (nobody reads them) nor holds the proxy's stdout (in stdio mode that is the client's channel).
    private const string Script = """
        exec >/dev/null 2>&1
        groups=''
        while IFS= read -r line; do
          case $line in
            +*) groups="$groups ${line#+}" ;;
            -*) gone=${line#-}; kept=''
                for g in $groups; do [ "$g" = "$gone" ] || kept="$kept $g"; done
                groups=$kept ;;
          esac
        done
        [ -z "$groups" ] && exit 0
        for g in $groups; do kill -TERM -"$g"; done
        i=0
        while [ $i -lt 20 ]; do
          sleep 0.1
          alive=''
          for g in $groups; do kill -0 -"$g" && alive="$alive $g"; done
          [ -z "$alive" ] && exit 0
          i=$((i+1))
        done
        for g in $groups; do kill -KILL -"$g"; done
        """;

    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private Process? _process;
    private bool _broken;
    private bool _disposed;

    public ProcessGroupWatchdog(ILogger<ProcessGroupWatchdog> logger) => _logger = logger;

    /// <summary>Adds a group to stop if the proxy dies. Starts the watchdog on first use.</summary>
    public void Register(int pgid) => Send('+', pgid);

    /// <summary>Removes a group the proxy has stopped itself (so a reused number is never signalled).</summary>
    public void Unregister(int pgid) => Send('-', pgid);

    /// <summary>Closes the pipe: the watchdog stops whatever is still registered (normally nothing) and exits.</summary>
    public async ValueTask DisposeAsync()
    {
        Process? process;
        lock (_lock)
        {
            _disposed = true;
            process = _process;
            _process = null;
        }

        if (process is null)
        {
            return;
        }

        try
        {
            process.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidOperationException)
        {
            LogStopFailed(_logger, ex.Message);
        }
        finally
        {
            process.Dispose();
        }
    }

    private void Send(char op, int pgid)
    {
        if (!ProcessGroups.Supported)
        {
            return;
        }

        lock (_lock)
        {
            if (_broken || _disposed)
            {
                return;
            }

            try
            {
                _process ??= Start();
                _process.StandardInput.Write(op + pgid.ToString(CultureInfo.InvariantCulture) + "\n");
                _process.StandardInput.Flush();
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Not fatal: backends still stop on every orderly path; only the SIGKILL safety net is lost.
                _broken = true;
                LogUnavailable(_logger, ex.Message);
            }
        }
    }

    private static Process Start()
    {
        var startInfo = new ProcessStartInfo(ProcessGroups.SetsidPath!)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        startInfo.ArgumentList.Add("/bin/sh");
        startInfo.ArgumentList.Add("-c");
        startInfo.ArgumentList.Add(Script);
        startInfo.Environment.Clear();
        startInfo.Environment["PATH"] = "/usr/bin:/bin";
        var process = Process.Start(startInfo) ?? throw new InvalidOperationException("the watchdog did not start");
        process.StandardInput.AutoFlush = false;
        return process;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The process watchdog is unavailable ({Reason}); stdio servers are still stopped on every orderly shutdown, but not if the proxy is killed")]
    private static partial void LogUnavailable(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "The process watchdog did not stop cleanly: {Reason}")]
    private static partial void LogStopFailed(ILogger logger, string reason);
}
