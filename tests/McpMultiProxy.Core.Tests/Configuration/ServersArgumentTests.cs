using McpMultiProxy.Configuration;

namespace McpMultiProxy.Tests.Configuration;

public sealed class ServersArgumentTests
{
    [Fact]
    public void Parse_NamedUrls_KeepsOrderAndNames()
    {
        var servers = ServersArgument.Parse("main=http://localhost:8000/mcp, backup=http://localhost:8001/mcp?x=1", ProxySettings.Default);
        Assert.Equal(["main", "backup"], servers.Select(s => s.Name));
        Assert.Equal("http://localhost:8001/mcp?x=1", servers[1].Urls[0]);
    }

    [Fact]
    public void Parse_BareUrl_GetsGeneratedUniqueName()
    {
        var servers = ServersArgument.Parse("http://localhost:8000/mcp,http://localhost:8000/other", ProxySettings.Default);
        Assert.Equal(["localhost-8000", "localhost-8000-2"], servers.Select(s => s.Name));
    }

    [Theory]
    [InlineData("main", "is not name=url")]
    [InlineData("main=notaurl", "is not a valid URL")]
    [InlineData("a=http://x/mcp,a=http://y/mcp", "given twice")]
    [InlineData("bad name=http://x/mcp", "is not valid")]
    public void Parse_BadEntry_ExplainsTheFix(string value, string expected)
    {
        var ex = Assert.Throws<ConfigException>(() => ServersArgument.Parse(value, ProxySettings.Default));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("--servers", ex.Message, StringComparison.Ordinal);
    }
}
