using System.Text.Json;
using McpMultiProxy.Memory;
using Microsoft.Extensions.Logging.Abstractions;
using McpMultiProxy.Tests.Management;
using Microsoft.Extensions.Time.Testing;

namespace McpMultiProxy.Tests.Memory;

/// <summary>When the proxy gives memory back: on a fake clock with a fake allocation counter; the trim itself on this process.</summary>
public sealed class IdleTrimmerTests
{
    private const long MiB = 1024 * 1024;

    private sealed class Counter
    {
        public long Allocated;
        public int Trims;
    }

    private static (IdleTrimmer Trimmer, FakeTimeProvider Time, Counter Counter) Create()
    {
        var time = new FakeTimeProvider();
        var counter = new Counter();
        var trimmer = new IdleTrimmer(time, NullLogger<IdleTrimmer>.Instance, () => Volatile.Read(ref counter.Allocated), () =>
        {
            counter.Trims++;
            return 0;
        });
        return (trimmer, time, counter);
    }

    [Fact]
    public void Check_AfterStartUpAllocation_TrimsOnlyOnceAnIntervalWasQuiet()
    {
        var (trimmer, time, counter) = Create();

        // Start-up: 20 MiB allocated during the first interval; then an idle one (health pings: a few KB).
        Assert.False(Interval(trimmer, time, counter, 20 * MiB));
        Assert.True(Interval(trimmer, time, counter, 30 * 1024));
        Assert.Equal(1, counter.Trims);

        // Still idle, nothing new to give back: no second trim.
        Assert.False(Interval(trimmer, time, counter, 30 * 1024));
        Assert.Equal(1, counter.Trims);
    }

    [Fact]
    public void Check_SmallProxyQuietAfterStart_TrimsOnceEvenWithLittleAllocated()
    {
        var (trimmer, time, counter) = Create();
        Assert.False(Interval(trimmer, time, counter, 3 * MiB));
        Assert.True(Interval(trimmer, time, counter, 0));
        for (var i = 0; i < 100; i++)
        {
            Assert.False(Interval(trimmer, time, counter, 0));
        }

        Assert.Equal(1, counter.Trims);
    }

    [Fact]
    public void Check_BusyIntervals_NeverTrim()
    {
        var (trimmer, time, counter) = Create();
        for (var i = 0; i < 50; i++)
        {
            Assert.False(Interval(trimmer, time, counter, IdleTrimmer.QuietBytes + 1));
        }

        Assert.Equal(0, counter.Trims);
    }

    [Fact]
    public void Check_BusySpellsAfterATrim_TrimAgainOnlyOnceTheGapHasPassed()
    {
        var (trimmer, time, counter) = Create();
        TrimAfterStartUp(trimmer, time, counter);
        var trimmedAt = time.GetUtcNow();

        // A burst of traffic, then quiet, 20 s after the trim: too soon.
        Assert.False(Interval(trimmer, time, counter, 3 * IdleTrimmer.WorthBytes));
        time.Advance(TimeSpan.FromSeconds(15));
        Assert.False(trimmer.Check());

        // Quiet on until a minute has passed since the trim: now it is worth it and allowed.
        while (time.GetUtcNow() + IdleTrimmer.CheckInterval - trimmedAt < IdleTrimmer.MinimumGap)
        {
            Assert.False(Interval(trimmer, time, counter, 0));
        }

        Assert.True(Interval(trimmer, time, counter, 0));
        Assert.Equal(2, counter.Trims);
    }

    [Fact]
    public void Check_QuietButLittleAllocatedSinceTheLastTrim_DoesNotTrim()
    {
        var (trimmer, time, counter) = Create();
        TrimAfterStartUp(trimmer, time, counter);

        // Ten minutes of light use: every interval quiet, less than WorthBytes in all.
        for (var i = 0; i < 120; i++)
        {
            Assert.False(Interval(trimmer, time, counter, (IdleTrimmer.WorthBytes - 1) / 120));
        }
    }

    [Fact]
    public async Task Running_TheClockTicks_ChecksEveryIntervalAndTrimsWhenQuiet()
    {
        var (trimmer, time, counter) = Create();
        await trimmer.StartAsync(CancellationToken.None);
        try
        {
            Interlocked.Exchange(ref counter.Allocated, 20 * MiB);
            time.Advance(IdleTrimmer.CheckInterval - TimeSpan.FromMilliseconds(1));
            await Task.Delay(20);
            Assert.Equal(0, trimmer.Checks);

            time.Advance(TimeSpan.FromMilliseconds(1));
            await InMemoryWait.ForAsync(() => trimmer.Checks == 1);
            Assert.Equal(0, trimmer.Trims);

            time.Advance(IdleTrimmer.CheckInterval);
            await InMemoryWait.ForAsync(() => trimmer.Checks == 2);
            Assert.Equal(1, trimmer.Trims);
        }
        finally
        {
            await trimmer.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>One check interval: <paramref name="allocated"/> bytes allocated during it, then the check at its end.</summary>
    private static bool Interval(IdleTrimmer trimmer, FakeTimeProvider time, Counter counter, long allocated)
    {
        counter.Allocated += allocated;
        time.Advance(IdleTrimmer.CheckInterval);
        return trimmer.Check();
    }

    /// <summary>A busy first interval (start-up), then a quiet one: the first trim.</summary>
    private static void TrimAfterStartUp(IdleTrimmer trimmer, FakeTimeProvider time, Counter counter)
    {
        Assert.False(Interval(trimmer, time, counter, IdleTrimmer.WorthBytes));
        Assert.True(Interval(trimmer, time, counter, 0));
    }

    [Fact]
    public void CleanReadOnlyFileMappings_OnlyUnwrittenReadOnlyMappingsOfRegularFiles()
    {
        string[] smaps =
        [
            "55d0a0000000-55d0a0100000 r--p 00000000 08:01 123 /usr/bin/proxy",
            "Rss:                 400 kB",
            "Anonymous:             0 kB",
            "VmFlags: rd mr mw me dw sd",
            "55d0a0100000-55d0a0300000 r-xp 00100000 08:01 123 /usr/bin/proxy",
            "Anonymous:             0 kB",
            "55d0a0300000-55d0a0301000 r--p 00300000 08:01 123 /usr/bin/proxy",
            "Anonymous:             4 kB",
            "55d0a0301000-55d0a0400000 rw-p 00301000 08:01 123 /usr/bin/proxy",
            "Anonymous:             0 kB",
            "7f0000000000-7f0000100000 rw-p 00000000 00:00 0 ",
            "Anonymous:          1024 kB",
            "7f0000100000-7f0000200000 r--p 00000000 00:05 9 /dev/shm/x",
            "Anonymous:             0 kB",
            "7ffc00000000-7ffc00002000 r-xp 00000000 00:00 0 [vdso]",
            "Anonymous:             0 kB",
            "7f0000200000-7f0000210000 r-xp 00000000 08:01 77 /usr/lib/libc.so.6 (deleted)",
            "Anonymous:             0 kB",
            "7f0000300000-7f0000400000 r-xs 00000000 00:01 5 /memfd:doublemapper (deleted)",
            "Anonymous:             0 kB",
            "7f0000400000-7f0000500000 r--p 00000000 08:01 88 /usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.0/System.Private.CoreLib.dll",
            "Anonymous:             0 kB",
        ];

        var mappings = ColdPages.CleanReadOnlyFileMappings(smaps).ToList();

        Assert.Equal(
            [(0x55d0a0000000, 0x100000), (0x55d0a0100000, 0x200000), (0x7f0000200000, 0x10000)],
            mappings);
    }

    [Fact]
    public void Release_OnThisProcess_UnmapsCleanPagesAndTheProcessRunsOn()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var before = StatusKiB("RssFile");
        var released = ColdPages.Release();
        var after = StatusKiB("RssFile");

        Assert.True(released > 0, "nothing was released");
        Assert.True(after < before, $"RssFile {before} kB before, {after} kB after");

        // Code and read-only data fault back in: the runtime, the JIT and the libraries all work on.
        var json = JsonSerializer.Serialize(new Dictionary<string, int[]> { ["a"] = [1, 2, 3] });
        Assert.Equal("""{"a":[1,2,3]}""", json);
        Assert.Equal(6, Enumerable.Range(1, 3).Sum());
    }

    /// <summary>The aggressive collection is skipped under a GC heap limit: the limit is read as the GC sees it.</summary>
    [Fact]
    public void HeapHasHardLimit_AgreesWithTheMemoryTheGcMayUse()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var physical = long.Parse(File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        Assert.Equal(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes < physical, IdleTrimmer.HeapHasHardLimit());
    }

    private static long StatusKiB(string field) =>
        long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
}
