using System.Diagnostics;
using System.Reflection;
using BenchmarkDotNet.Running;
using McpMultiProxy.Benchmarks.Server;
using McpMultiProxy.Benchmarks.Load;

namespace McpMultiProxy.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project bench/McpMultiProxy.Benchmarks [-- options]</c>
/// <list type="bullet">
/// <item>(no command): the load benchmark, direct vs through the published proxy, with its report table.</item>
/// <item><c>micro [BenchmarkDotNet options]</c>: micro-benchmarks of the hot path.</item>
/// <item><c>backend [--http]</c>: the fast backend alone (the load benchmark starts it this way).</item>
/// </list>
/// </summary>
internal static class Program
{
    private const string Usage = """
        usage: McpMultiProxy.Benchmarks [--quick] [--no-publish] [--proxy PATH] [--out FILE]
               McpMultiProxy.Benchmarks micro [BenchmarkDotNet options, e.g. --filter '*Lookup*']
               McpMultiProxy.Benchmarks backend [--http]
               McpMultiProxy.Benchmarks inmem [CALLS]   (CPU and bytes per call, in memory)
               McpMultiProxy.Benchmarks drive URL TOOL SECONDS [WORKERS]   (load for a profiler)
          --quick        a smoke run of a few seconds (figures are rough)
          --no-publish   use the proxy already published to artifacts/bench/proxy
          --proxy PATH   benchmark this proxy executable instead of publishing one
          --out FILE     also write the report table (Markdown) to FILE
        """;

    public static async Task<int> Main(string[] args)
    {
        if (args is ["backend", ..])
        {
            return await FastBackend.RunAsync(args[1..]);
        }

        if (args is ["drive", var url, var tool, var seconds, ..])
        {
            // Load for a profiler: one client calling 'tool' at 'url' for 'seconds' with N workers (default 1).
            return await LoadBenchmark.DriveAsync(url, tool, double.Parse(seconds, System.Globalization.CultureInfo.InvariantCulture), args.Length > 4 ? int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture) : 1);
        }

        if (args is ["inmem", ..])
        {
            return await Micro.InMemoryCost.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 20_000);
        }

        if (args is ["micro", ..])
        {
            BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args[1..]);
            return 0;
        }

        var quick = false;
        var publish = true;
        string? proxy = null;
        string? output = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick":
                    quick = true;
                    break;
                case "--no-publish":
                    publish = false;
                    break;
                case "--proxy" when i + 1 < args.Length:
                    proxy = Path.GetFullPath(args[++i]);
                    break;
                case "--out" when i + 1 < args.Length:
                    output = Path.GetFullPath(args[++i]);
                    break;
                default:
                    await Console.Error.WriteLineAsync($"unknown option '{args[i]}'\n{Usage}");
                    return 64;
            }
        }

        var repo = typeof(Program).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "RepoRoot").Value!;
        var publishDir = Path.Combine(repo, "artifacts", "bench", "proxy");
        if (proxy is null)
        {
            if (publish && !await PublishAsync(repo, publishDir))
            {
                return 1;
            }

            proxy = Path.Combine(publishDir, "mcp-multiproxy");
        }

        var settings = quick ? Settings.QuickRun : Settings.Full;
        Console.Error.WriteLine($"Load benchmark ({(quick ? "quick smoke run" : "full run")}), proxy: {proxy}");
        Console.Error.WriteLine($"{Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        var started = Stopwatch.GetTimestamp();
        var report = await new LoadBenchmark(settings, proxy).RunAsync();
        var table = report.ToMarkdown();
        Console.WriteLine();
        Console.WriteLine(table);
        Console.WriteLine($"{report.Figures.Count(f => f.Pass == true)} of {report.Figures.Count(f => f.Pass is not null)} targets met; {Environment.ProcessorCount} cores; took {Stopwatch.GetElapsedTime(started).TotalSeconds:0} s.");
        if (output is not null)
        {
            await File.WriteAllTextAsync(output, table);
        }

        return 0;
    }

    /// <summary>Publishes the proxy in Release exactly as users get it, so the figures are the real product's.</summary>
    private static async Task<bool> PublishAsync(string repo, string output)
    {
        Console.Error.WriteLine($"Publishing the proxy (Release) to {output} ...");
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])["publish", Path.Combine(repo, "src", "McpMultiProxy", "McpMultiProxy.csproj"), "-c", "Release", "-o", output, "--nologo", "-v", "quiet"])
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            await Console.Error.WriteLineAsync($"dotnet publish failed ({process.ExitCode}):\n{await stdout}\n{await stderr}");
            return false;
        }

        return true;
    }
}
