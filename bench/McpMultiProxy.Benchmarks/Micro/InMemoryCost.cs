using System.Diagnostics;
using System.Globalization;
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
        await CompareAsync(proxy, "round", "echo", Args, calls, ("µs", 1, "0.0"), ("B", 1, "0"));

        // 1 MiB results: what the proxy's relay of a large result costs, with no sockets in the way.
        await CompareAsync(proxy, "1 MiB round", "big", MiB, Math.Max(20, calls / 300), ("ms", 1000, "0.00"), ("MiB", 1048576, "0.0"));

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

    /// <summary>Three rounds of <paramref name="calls"/> calls of <paramref name="tool"/>, direct and through the proxy, printed in the units given.</summary>
    private static async Task CompareAsync(
        InMemoryProxy proxy, string label, string tool, Dictionary<string, object?> args, int calls,
        (string Name, double Size, string Format) cpu, (string Name, double Size, string Format) bytes)
    {
        string Cpu(double us) => $"{(us / cpu.Size).ToString(cpu.Format, CultureInfo.InvariantCulture)} {cpu.Name}";
        string Bytes(double b) => $"{(b / bytes.Size).ToString(bytes.Format, CultureInfo.InvariantCulture)} {bytes.Name}";
        for (var round = 0; round < 3; round++)
        {
            var direct = await MeasureAsync(proxy.DirectClient, tool, args, calls);
            var through = await MeasureAsync(proxy.Client, $"b00__{tool}", args, calls);
            Console.WriteLine(
                $"{label} {round}: direct {Cpu(direct.CpuUs)} CPU, {Bytes(direct.Bytes)} per call; through proxy {Cpu(through.CpuUs)} CPU, {Bytes(through.Bytes)} per call; "
                + $"proxy adds {Cpu(through.CpuUs - direct.CpuUs)}, {Bytes(through.Bytes - direct.Bytes)}");
        }
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
