using McpMultiProxy.Catalog;
using McpMultiProxy.Configuration;
using McpMultiProxy.Health;
using McpMultiProxy.Management;
using McpMultiProxy.Tests.Backends;
using Microsoft.Extensions.Logging.Abstractions;
using static McpMultiProxy.Tests.Backends.InMemoryBackends;

namespace McpMultiProxy.Tests.Management;

/// <summary>Hot reload through the registry, on a fake clock (the file system watcher itself is covered by the executable's tests).</summary>
public sealed class ConfigFileWatcherTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("mmp-reload-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Reload_AddRemoveAndChange_TouchesOnlyWhatChanged()
    {
        var (backends, registry, watcher, path) = Start("""{ "mcpServers": { "a": { "url": "http://a.test/mcp" }, "b": { "url": "http://b.test/mcp" } } }""");
        await using var _ = registry;
        using var __ = watcher;
        await WaitForAsync(() => registry.LiveBackends.All(b => b.State == HealthState.Healthy), "both healthy");
        var a = registry.Live("a");
        var sessionA = a!.Replicas[0].Session;

        await WriteAndReloadAsync(backends, watcher, path, """
            { "mcpServers": {
                "a": { "url": "http://a.test/mcp", "tools": { "deny": ["hang"] } },
                "c": { "url": "http://c.test/mcp" } } }
            """);

        Assert.Same(a, registry.Live("a"));
        Assert.Same(sessionA, a.Replicas[0].Session);
        Assert.Equal(["hang"], a.Config.Tools.Deny.ToArray());
        Assert.Null(registry.Live("b"));
        Assert.NotNull(registry.Live("c"));
        Assert.Null(registry.ConfigError);
    }

    [Fact]
    public async Task Reload_BrokenFile_ReportsErrorAndKeepsLastGoodConfigUntilFixed()
    {
        var good = """{ "mcpServers": { "a": { "url": "http://a.test/mcp" } } }""";
        var (backends, registry, watcher, path) = Start(good);
        await using var _ = registry;
        using var __ = watcher;

        await WriteAndReloadAsync(backends, watcher, path, """{ "mcpServers": { "a": { "url": "http://a.test/mcp", "bogus": 1 } } }""");

        Assert.NotNull(registry.Live("a"));
        Assert.Contains("unknown key 'bogus'", registry.ConfigError?.Error, StringComparison.Ordinal);
        Assert.Contains($"{path}:1", registry.ConfigError?.Error, StringComparison.Ordinal);

        await WriteAndReloadAsync(backends, watcher, path, good);
        Assert.Null(registry.ConfigError);
    }

    [Fact]
    public async Task Reload_TheProxysOwnSave_IsNotAppliedAgain()
    {
        // The overrides run only when the watcher applies a file: they count how often that happens.
        var applied = 0;
        var (backends, registry, watcher, path) = Start("""{ "mcpServers": { "a": { "url": "http://a.test/mcp" } } }""", out var store, c => { Interlocked.Increment(ref applied); return c; });
        await using var _ = registry;
        using var __ = watcher;

        // What the proxy saves is what it runs: registry.AddAsync saves, and the watcher sees its own text.
        await registry.AddAsync(Config("b", "http://b.test/mcp"), persist: true, CancellationToken.None);
        var b = registry.Live("b");
        await WaitForAsync(() => b!.State == HealthState.Healthy, "b healthy");
        var connects = backends.Connects;
        var reloaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        watcher.Reloaded += () => reloaded.TrySetResult();
        watcher.OnFileChanged();
        backends.Time.Advance(ConfigFileWatcher.DefaultDebounce);
        await reloaded.Task.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(0, Volatile.Read(ref applied));
        Assert.Same(b, registry.Live("b"));
        Assert.Equal(connects, backends.Connects);
        Assert.Contains("\"b\"", File.ReadAllText(store.Location!), StringComparison.Ordinal);
    }

    private (InMemoryBackends, BackendRegistry, ConfigFileWatcher, string) Start(string text) => Start(text, out _);

    private (InMemoryBackends Backends, BackendRegistry Registry, ConfigFileWatcher Watcher, string Path) Start(
        string text, out FileConfigStore store, Func<ProxyConfig, ProxyConfig>? overrides = null)
    {
        var path = Path.Combine(_directory, "mcp.json");
        File.WriteAllText(path, text);
        var backends = new InMemoryBackends();
        store = new FileConfigStore(path);
        var registry = new BackendRegistry(ConfigParser.LoadFile(path), [], backends.Services(), new ProxyCatalog(), () => [], store, McpMultiProxy.Backends.Backoff.Default);
        registry.Start();
        var watcher = new ConfigFileWatcher(path, registry, store, overrides ?? (c => c), backends.Time, NullLogger<ConfigFileWatcher>.Instance);

        // Subscribes to the store's saves, as the hosted service does when it starts; the file events are not needed here.
        _ = watcher.StartAsync(CancellationToken.None);
        return (backends, registry, watcher, path);
    }

    private static async Task WriteAndReloadAsync(InMemoryBackends backends, ConfigFileWatcher watcher, string path, string text)
    {
        var reloaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnReloaded() => reloaded.TrySetResult();
        watcher.Reloaded += OnReloaded;
        File.WriteAllText(path, text);
        watcher.OnFileChanged();
        backends.Time.Advance(TimeSpan.FromMilliseconds(100));
        watcher.OnFileChanged();
        backends.Time.Advance(ConfigFileWatcher.DefaultDebounce);
        await reloaded.Task.WaitAsync(TimeSpan.FromSeconds(10));
        watcher.Reloaded -= OnReloaded;
    }
}
