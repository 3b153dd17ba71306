using McpMultiProxy.Backends;
using McpMultiProxy.Configuration;
using McpMultiProxy.Management;

namespace McpMultiProxy.Tests.Telemetry;

/// <summary>A registry holding only a config (no live backends): what the watcher and the gauges read.</summary>
internal sealed class FakeRegistry : IBackendRegistry
{
    public event Action? Changed;

    public ProxyConfig Config { get; private set; } = ProxyConfig.Empty;

    public IReadOnlyList<Backend> LiveBackends => [];

    public Backend? Live(string name) => null;

    public void Set(params BackendConfig[] servers)
    {
        Config = Config with { Servers = [.. servers] };
        Changed?.Invoke();
    }

    public Task AddAsync(BackendConfig config, bool persist, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task RemoveAsync(string name, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task SetEnabledAsync(string name, bool enabled, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task ApplyAsync(ProxyConfig config, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task UpdateAsync(BackendConfig config, CancellationToken cancellationToken) => throw new NotSupportedException();

    public static BackendConfig Http(string name, bool enabled = true) =>
        new() { Name = name, Transport = BackendTransport.Http, Urls = ["http://127.0.0.1:1/mcp?token=secret"], Enabled = enabled };
}
