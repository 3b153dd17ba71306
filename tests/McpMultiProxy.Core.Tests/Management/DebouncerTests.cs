using McpMultiProxy.Management;
using Microsoft.Extensions.Time.Testing;

namespace McpMultiProxy.Tests.Management;

/// <summary>The debounce of config file changes, on a fake clock.</summary>
public sealed class DebouncerTests
{
    [Fact]
    public async Task Trigger_BurstOfChanges_RunsOnceAfterTheLastIsQuiet()
    {
        var time = new FakeTimeProvider();
        var runs = 0;
        using var debouncer = new Debouncer(TimeSpan.FromMilliseconds(300), time, () =>
        {
            Interlocked.Increment(ref runs);
            return Task.CompletedTask;
        });

        debouncer.Trigger();
        time.Advance(TimeSpan.FromMilliseconds(200));
        debouncer.Trigger();
        time.Advance(TimeSpan.FromMilliseconds(200));
        debouncer.Trigger();
        time.Advance(TimeSpan.FromMilliseconds(299));
        await Task.Delay(20);
        Assert.Equal(0, Volatile.Read(ref runs));

        time.Advance(TimeSpan.FromMilliseconds(1));
        await InMemoryWait.ForAsync(() => Volatile.Read(ref runs) == 1);
        time.Advance(TimeSpan.FromSeconds(5));
        await Task.Delay(20);
        Assert.Equal(1, Volatile.Read(ref runs));
    }

    [Fact]
    public async Task Trigger_DuringARun_RunsAgainAfterIt()
    {
        var time = new FakeTimeProvider();
        var runs = 0;
        var release = new TaskCompletionSource();
        using var debouncer = new Debouncer(TimeSpan.FromMilliseconds(300), time, async () =>
        {
            if (Interlocked.Increment(ref runs) == 1)
            {
                await release.Task;
            }
        });

        debouncer.Trigger();
        time.Advance(TimeSpan.FromMilliseconds(300));
        await InMemoryWait.ForAsync(() => Volatile.Read(ref runs) == 1);
        debouncer.Trigger();
        time.Advance(TimeSpan.FromMilliseconds(300));
        await Task.Delay(20);
        Assert.Equal(1, Volatile.Read(ref runs));

        release.SetResult();
        await InMemoryWait.ForAsync(() => Volatile.Read(ref runs) == 2);
    }
}

internal static class InMemoryWait
{
    public static Task ForAsync(Func<bool> condition) => Backends.InMemoryBackends.WaitForAsync(condition, "condition");
}
