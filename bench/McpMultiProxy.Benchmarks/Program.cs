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
        usage: McpMultiProxy.Benchmarks [--quick] [--build jit|r2r|aot] [--no-publish] [--proxy PATH] [--out FILE]
               McpMultiProxy.Benchmarks micro [BenchmarkDotNet options, e.g. --filter '*Lookup*']
               McpMultiProxy.Benchmarks backend [--http]
               McpMultiProxy.Benchmarks inmem [CALLS]   (CPU and bytes per call, in memory)
               McpMultiProxy.Benchmarks drive URL TOOL SECONDS [WORKERS]   (load for a profiler)
          --quick        a smoke run of a few seconds (figures are rough)
          --build KIND   how the proxy is published: jit (framework-dependent, as 'dotnet tool' installs it),
                         r2r (ReadyToRun), aot (NativeAOT, needs clang); default: aot when clang is found, else r2r
          --no-publish   use the proxy already published to artifacts/bench/KIND
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
        var clang = Toolchain.FindClang();
        var build = clang is null ? "r2r" : "aot";
        string? proxy = null;
        string? output = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick":
                    quick = true;
                    break;
                case "--build" when i + 1 < args.Length && args[i + 1] is "jit" or "r2r" or "aot":
                    build = args[++i];
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
        var publishDir = Path.Combine(repo, "artifacts", "bench", build);
        if (proxy is null)
        {
            if (publish && !await PublishAsync(repo, publishDir, build, clang))
            {
                return 1;
            }

            proxy = Path.Combine(publishDir, "mcp-multiproxy");
        }

        var settings = quick ? Settings.QuickRun : Settings.Full;
        Console.Error.WriteLine($"Load benchmark ({(quick ? "quick smoke run" : "full run")}), proxy: {proxy}{(proxy.StartsWith(publishDir, StringComparison.Ordinal) ? $" ({build} build)" : "")}");
        Console.Error.WriteLine($"{Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        var started = Stopwatch.GetTimestamp();
        var report = await new LoadBenchmark(settings, proxy).RunAsync();
        var table = report.ToMarkdown();
        Console.WriteLine();
        Console.WriteLine(table);
        var targets = report.Figures.Count(f => f.HasTarget);
        var noise = report.Figures.Count(f => f.HasTarget && f.Pass is null);
        Console.WriteLine($"{report.Figures.Count(f => f.Pass == true)} of {targets} targets met{(noise > 0 ? $" ({noise} too noisy to judge)" : "")}; {Environment.ProcessorCount} cores; took {Stopwatch.GetElapsedTime(started).TotalSeconds:0} s.");
        if (output is not null)
        {
            await File.WriteAllTextAsync(output, table);
        }

        return 0;
    }

    /// <summary>Publishes the proxy in Release exactly as users would get it, so the figures are the real product's.</summary>
    /// <param name="repo">The repository root.</param>
    /// <param name="output">Where to publish.</param>
    /// <param name="build">jit, r2r or aot.</param>
    /// <param name="clang">The C toolchain found (<see cref="Toolchain.FindClang"/>), or null.</param>
    private static async Task<bool> PublishAsync(string repo, string output, string build, string? clang)
    {
        Console.Error.WriteLine($"Publishing the proxy (Release, {build}) to {output} ...");
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        List<string> args = ["publish", Path.Combine(repo, "src", "McpMultiProxy", "McpMultiProxy.csproj"), "-c", "Release", "-o", output, "--nologo", "-v", "quiet"];
        switch (build)
        {
            case "r2r":
                args.AddRange(["-r", Toolchain.RuntimeIdentifier, "--self-contained", "false", "-p:PublishReadyToRun=true"]);
                break;
            case "aot":
                args.AddRange(["-r", Toolchain.RuntimeIdentifier, "-p:PublishAot=true"]);
                if (clang is not null && clang != "clang")
                {
                    args.Add($"-p:CppCompilerAndLinker={clang}");
                }

                break;
        }

        foreach (var arg in args)
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

/// <summary>What the machine offers for publishing the proxy.</summary>
internal static class Toolchain
{
    public static string RuntimeIdentifier => System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier;

    /// <summary>The C toolchain NativeAOT links with: <c>clang</c>, or a versioned <c>clang-NN</c> as Debian installs it.</summary>
    public static string? FindClang()
    {
        var path = Environment.GetEnvironmentVariable("PATH")?.Split(':', StringSplitOptions.RemoveEmptyEntries) ?? [];
        if (path.Any(dir => File.Exists(Path.Combine(dir, "clang"))))
        {
            return "clang";
        }

        return path.SelectMany(dir => Directory.Exists(dir) ? Directory.EnumerateFiles(dir, "clang-[0-9]*") : [])
            .Select(Path.GetFileName)
            .Where(name => name is not null && int.TryParse(name["clang-".Length..], out _))
            .OrderByDescending(name => int.Parse(name!["clang-".Length..], System.Globalization.CultureInfo.InvariantCulture))
            .FirstOrDefault();
    }
}
