using McpMultiProxy.Tests.Infrastructure;
using Xunit;

namespace McpMultiProxy.Tests.Integration;

/// <summary>
/// A bad config file or a bad <c>--servers</c> value stops start-up with a message (stderr) that names the file, the
/// line and the key, or the bad entry, and says how to fix it; the file is left as it was.
/// </summary>
public sealed class ConfigErrorTests
{
    [Fact]
    public async Task Start_ConfigWithSyntaxError_ExitsNonZeroNamingFileAndLine()
    {
        using var directory = new TempDirectory();
        var config = directory.WriteFile("broken.json", """
            {
              "mcpServers": {
                "alpha": { "url": "http://127.0.0.1:9/mcp" }
                "beta": { "url": "http://127.0.0.1:9/mcp" }
              }
            }
            """);
        var before = await File.ReadAllBytesAsync(config);

        var (exitCode, stderr) = await RunToExitAsync("--config", config);

        Assert.Equal(2, exitCode);
        Assert.Contains($"{config}:4: the file is not valid JSON", stderr, StringComparison.Ordinal);
        Assert.Contains("Fix the syntax at that line", stderr, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllBytesAsync(config));
    }

    [Fact]
    public async Task Start_ConfigWithUnknownKeys_ExitsNonZeroNamingFileLineAndEveryKey()
    {
        using var directory = new TempDirectory();
        var config = directory.WriteFile("typos.json", """
            {
              "mcpServers": {
                "alpha": {
                  "url": "http://127.0.0.1:9/mcp",
                  "colour": "red"
                }
              },
              "proxy": { "healthIntervalSecs": 5 },
              "extras": true
            }
            """);
        var before = await File.ReadAllBytesAsync(config);

        var (exitCode, stderr) = await RunToExitAsync("--config", config);

        Assert.Equal(2, exitCode);
        Assert.Contains("configuration errors", stderr, StringComparison.Ordinal);
        Assert.Contains($"{config}:5: server 'alpha': unknown key 'colour'. Known keys: command, args", stderr, StringComparison.Ordinal);
        Assert.Contains($"{config}:8: proxy: unknown key 'healthIntervalSecs'. Known keys: separator", stderr, StringComparison.Ordinal);
        Assert.Contains($"{config}:9: unknown key 'extras'. The top level takes 'mcpServers'", stderr, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllBytesAsync(config));
    }

    [Theory]
    [InlineData("justaname", "'justaname' is not name=url")]
    [InlineData("alpha=http://127.0.0.1:9/mcp,localhost:9000", "'localhost:9000' is not name=url")]
    public async Task Start_ServersEntryWithoutEquals_ExitsNonZeroNamingTheEntry(string servers, string expected)
    {
        using var directory = new TempDirectory();
        var config = TestConfig.Write(directory, new() { ["kept"] = TestConfig.Http(new Uri("http://127.0.0.1:9/mcp")) });
        var before = await File.ReadAllBytesAsync(config);

        var (exitCode, stderr) = await RunToExitAsync("--config", config, "--servers", servers);

        Assert.Equal(2, exitCode);
        Assert.Contains($"--servers: {expected}", stderr, StringComparison.Ordinal);
        Assert.Contains("e.g. --servers main=http://localhost:8000/mcp,backup=http://localhost:8001/mcp", stderr, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllBytesAsync(config));
    }

    /// <summary>Runs the proxy, which should refuse to start, and returns its exit code and stderr.</summary>
    private static async Task<(int ExitCode, string Stderr)> RunToExitAsync(params string[] args)
    {
        // --http on port 0: should the proxy start after all, it must not take the default port 8765.
        await using var proxy = ChildProcess.Start(TestPaths.DotNetHost, [TestPaths.ProxyDll, .. args, "--http", "127.0.0.1:0"]);
        var exitCode = await proxy.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.Empty(proxy.StdoutLines);
        return (exitCode, string.Join('\n', proxy.StderrLines));
    }
}
