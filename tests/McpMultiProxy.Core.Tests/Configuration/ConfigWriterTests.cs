using McpMultiProxy.Configuration;

namespace McpMultiProxy.Tests.Configuration;

public sealed class ConfigWriterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mmp-writer-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void SaveAtomic_ReplacesFileAndLeavesNoTemporaryFiles()
    {
        var path = Path.Combine(_dir, "mcp.json");
        File.WriteAllText(path, "{ \"mcpServers\": {} }");
        var config = new ProxyConfig([new BackendConfig { Name = "a", Transport = BackendTransport.Http, Urls = ["http://127.0.0.1:1/mcp"] }], ProxySettings.Default);

        ConfigWriter.SaveAtomic(path, config);

        Assert.Equal("a", Assert.Single(ConfigParser.LoadFile(path).Servers).Name);
        Assert.Equal([path], Directory.GetFiles(_dir));
    }

    [Fact]
    public void SaveAtomic_IntoMissingDirectory_CreatesIt()
    {
        var path = Path.Combine(_dir, "sub", "mcp.json");
        ConfigWriter.SaveAtomic(path, ProxyConfig.Empty);
        Assert.Empty(ConfigParser.LoadFile(path).Servers);
    }
}
