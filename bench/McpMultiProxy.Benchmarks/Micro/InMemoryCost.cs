using System.Diagnostics;
using ModelContextProtocol.Client;

namespace McpMultiProxy.Benchmarks.Micro;

/// <summary>
/// <c>inmem</c>: CPU time and bytes allocated per call, direct and through the in-memory proxy, measured over the
/// whole process (every thread), so machine noise moves the figures far less than it moves wall-clock rates.
/// </summary>
internal static class InMemoryCost
{
    private static readonly Dictionary<string, object?> Args = new() { ["text"] = "hello" };
    private static readonly Dictionary<string, object?> MiB = new() { ["kb"] = 1024 };

    public static async Task<int> RunAsync(int calls)
    {
        await using var proxy = await InMemoryProxy.StartAsync(1);
        for (var round = 0; round < 3; round++)
        {
            var direct = await MeasureAsync(proxy.DirectClient, "echo", Args, calls);
            var through = await MeasureAsync(proxy.Client, "b00__echo", Args, calls);
            Console.WriteLine(
                $"round {round}: direct {direct.CpuUs:0.0} µs CPU, {direct.Bytes:0} B per call; through proxy {through.CpuUs:0.0} µs CPU, {through.Bytes:0} B per call; "
                + $"proxy adds {through.CpuUs - direct.CpuUs:0.0} µs, {through.Bytes - direct.Bytes:0} B");
        }

        // 1 MiB results: what the proxy's relay of a large result costs, with no sockets in the way.
        for (var round = 0; round < 3; round++)
        {
            var direct = await MeasureAsync(proxy.DirectClient, "big", MiB, Math.Max(20, calls / 300));
            var through = await MeasureAsync(proxy.Client, "b00__big", MiB, Math.Max(20, calls / 300));
            Console.WriteLine(
                $"1 MiB round {round}: direct {direct.CpuUs / 1000:0.00} ms CPU, {direct.Bytes / 1048576:0.0} MiB per call; through proxy {through.CpuUs / 1000:0.00} ms CPU, "
                + $"{through.Bytes / 1048576:0.0} MiB per call; proxy adds {(through.CpuUs - direct.CpuUs) / 1000:0.00} ms, {(through.Bytes - direct.Bytes) / 1048576:0.0} MiB");
        }

        foreach (var backends in (int[])[1, 10, 50])
        {
            await using var many = await InMemoryProxy.StartAsync(backends);
            var times = new List<double>();
            for (var i = 0; i < 200; i++)
            {
                var t0 = Stopwatch.GetTimestamp();
                var tools = await many.Client.ListToolsAsync();
                times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                if (tools.Count < backends * Server.FastBackend.ToolCount)
                {
                    throw new InvalidOperationException($"only {tools.Count} tools listed");
                }
            }

            Console.WriteLine($"tools/list in memory, {backends} backends × {Server.FastBackend.ToolCount} tools: p50 {Load.Stats.Median(times[20..]):0.000} ms");
        }

        return 0;
    }

    private static async Task<(double CpuUs, double Bytes)> MeasureAsync(McpClient client, string tool, Dictionary<string, object?> args, int calls)
    {
        for (var i = 0; i < calls / 10; i++)
        {
            await client.CallToolAsync(tool, args);
        }

        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        var bytes0 = GC.GetTotalAllocatedBytes(precise: true);
        for (var i = 0; i < calls; i++)
        {
            await client.CallToolAsync(tool, args);
        }

        var bytes = GC.GetTotalAllocatedBytes(precise: true) - bytes0;
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpu0;
        return (cpu.TotalMicroseconds / calls, (double)bytes / calls);
    }
}
