using System.Globalization;
using System.Runtime.InteropServices;

namespace McpMultiProxy.Backends.Processes;

/// <summary>
/// Process groups on Unix: each stdio backend is started through util-linux <c>setsid</c> (present on every
/// Debian/Ubuntu/Fedora install), so it leads a group of its own that all its descendants inherit. The group
/// can then be signalled as a whole, which also reaches grandchildren whose parent already died (the
/// <c>npx</c> → <c>node</c> pattern), something a walk of the process tree can no longer find.
/// </summary>
internal static partial class ProcessGroups
{
    /// <summary>SIGTERM: please stop.</summary>
    public const int SigTerm = 15;

    /// <summary>SIGKILL: stop now.</summary>
    public const int SigKill = 9;

    /// <summary>errno ESRCH (Linux): no such process, or for a group, no process in it.</summary>
    private const int Esrch = 3;

    private static readonly string[] SetsidLocations = ["/usr/bin/setsid", "/bin/setsid", "/usr/local/bin/setsid"];

    /// <summary>Full path of <c>setsid</c>, or null where there is none (Windows, a bare macOS): then no groups are used.</summary>
    public static string? SetsidPath { get; } = OperatingSystem.IsWindows() ? null : SetsidLocations.FirstOrDefault(File.Exists);

    /// <summary>True when backends get process groups of their own.</summary>
    public static bool Supported => SetsidPath is not null;

    /// <summary>Sends <paramref name="signal"/> to every process of group <paramref name="pgid"/>; false when none is left.</summary>
    public static bool Signal(int pgid, int signal) => pgid > 1 && Kill(-pgid, signal) == 0;

    /// <summary>Sends <paramref name="signal"/> to one process.</summary>
    public static bool SignalProcess(int pid, int signal) => pid > 1 && Kill(pid, signal) == 0;

    /// <summary>
    /// True while a process of the group is still running. Zombies do not count: they are dead and wait for
    /// their parent (or init, for orphans) to reap them, so waiting for them would only add delay.
    /// </summary>
    public static bool HasLiveMembers(int pgid)
    {
        if (!OperatingSystem.IsLinux())
        {
            // Without /proc, ask the kernel; zombies count here, which only makes a stop send one more signal.
            return Signal(pgid, 0);
        }

        // An empty group (the usual case once a backend has exited) needs no scan of /proc: kill(-pgid, 0) says so
        // with ESRCH. Any other answer (members left, zombies included, or EPERM) leaves it to the scan.
        if (pgid > 1 && Kill(-pgid, 0) != 0 && Marshal.GetLastPInvokeError() == Esrch)
        {
            return false;
        }

        foreach (var member in Members(pgid))
        {
            if (member.State != 'Z')
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The processes of group <paramref name="pgid"/> (Linux, from /proc).</summary>
    public static IEnumerable<ProcessEntry> Members(int pgid)
    {
        foreach (var entry in ProcessEntry.All())
        {
            if (entry.Pgid == pgid)
            {
                yield return entry;
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}

/// <summary>One line of <c>/proc/PID/stat</c>: enough to find a process's group, parent and state.</summary>
internal readonly record struct ProcessEntry(int Pid, string Command, char State, int Ppid, int Pgid)
{
    /// <summary>Every process visible in /proc now (Linux); processes that vanish while reading are skipped.</summary>
    public static IEnumerable<ProcessEntry> All()
    {
        string[] directories;
        try
        {
            directories = Directory.GetDirectories("/proc");
        }
        catch (IOException)
        {
            yield break;
        }

        foreach (var directory in directories)
        {
            var name = Path.GetFileName(directory);
            if (name.Length == 0 || !char.IsAsciiDigit(name[0]) || !int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            if (Read(pid) is { } entry)
            {
                yield return entry;
            }
        }
    }

    /// <summary>The entry of <paramref name="pid"/>, or null when it does not exist (any more).</summary>
    public static ProcessEntry? Read(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // "pid (comm) S ppid pgrp ...": comm may hold spaces and parentheses, so split at the last ')'.
        var open = text.IndexOf('(', StringComparison.Ordinal);
        var close = text.LastIndexOf(')');
        if (open < 0 || close < open)
        {
            return null;
        }

        var fields = text[(close + 2)..].Split(' ');
        return fields.Length > 2
            && int.TryParse(fields[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var ppid)
            && int.TryParse(fields[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var pgid)
            ? new ProcessEntry(pid, text[(open + 1)..close], fields[0][0], ppid, pgid)
            : null;
    }
}
