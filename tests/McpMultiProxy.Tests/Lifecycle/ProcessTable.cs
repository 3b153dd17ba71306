using McpMultiProxy.Backends.Processes;

namespace McpMultiProxy.Tests.Lifecycle;

/// <summary>
/// What /proc says about processes, by group and by parent: never by name. A zombie is dead and counts as
/// gone, unless its parent is one of ours (then we failed to reap it): orphans are reaped by init, which on
/// some machines does so lazily.
/// </summary>
internal static class ProcessTable
{
    /// <summary>How long a test waits for processes to go: generous, the machine may be busy.</summary>
    public static readonly TimeSpan GoneTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Running (not zombie) processes of group <paramref name="pgid"/>.</summary>
    public static IReadOnlyList<ProcessEntry> LiveInGroup(int pgid) =>
        [.. ProcessEntry.All().Where(p => p.Pgid == pgid && p.State != 'Z')];

    /// <summary>Every process below <paramref name="pid"/> by parent links, zombies included.</summary>
    public static IReadOnlyList<ProcessEntry> Descendants(int pid)
    {
        var all = ProcessEntry.All().ToList();
        var found = new List<ProcessEntry>();
        var parents = new HashSet<int> { pid };
        bool added;
        do
        {
            added = false;
            foreach (var p in all)
            {
                if (parents.Contains(p.Ppid) && parents.Add(p.Pid))
                {
                    found.Add(p);
                    added = true;
                }
            }
        }
        while (added);

        return found;
    }

    /// <summary>True when <paramref name="pid"/> is not running (absent, or a zombie left to init).</summary>
    public static bool IsGone(int pid) => ProcessEntry.Read(pid) is not { } p || p.State == 'Z';

    /// <summary>Zombies whose parent is <paramref name="parent"/>: children it failed to reap.</summary>
    public static IReadOnlyList<ProcessEntry> UnreapedChildrenOf(int parent) =>
        [.. ProcessEntry.All().Where(p => p.Ppid == parent && p.State == 'Z')];

    /// <summary>Waits until <paramref name="condition"/> holds; false after <paramref name="timeout"/>.</summary>
    public static async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? GoneTimeout);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }

    /// <summary>One line per process, for failure messages and the test log.</summary>
    public static string Describe(IEnumerable<ProcessEntry> processes) =>
        string.Join("; ", processes.Select(p => $"{p.Pid} ({p.Command}) state {p.State} ppid {p.Ppid} pgid {p.Pgid}"));

    /// <summary>Sends SIGKILL to processes a test caused to exist but holds no handle for (a leaked grandchild).</summary>
    public static void KillLeaked(IEnumerable<int> pids)
    {
        foreach (var pid in pids)
        {
            ProcessGroups.SignalProcess(pid, ProcessGroups.SigKill);
        }
    }
}
