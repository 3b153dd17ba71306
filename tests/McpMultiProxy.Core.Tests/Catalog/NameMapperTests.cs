using McpMultiProxy.Catalog;

namespace McpMultiProxy.Tests.Catalog;

public sealed class NameMapperTests
{
    [Fact]
    public void Serve_Prefixed_JoinsWithSeparator() => Assert.Equal("web__search", NameMapper.Serve("web", "search", "__", prefixed: true));

    [Fact]
    public void Serve_InvalidCharacters_AreReplacedAndHashed()
    {
        var served = NameMapper.Serve("web", "search.v2/x", "__", prefixed: true);
        Assert.Matches("^[A-Za-z0-9_-]{1,64}$", served);
        Assert.StartsWith("web__search_v2_x_", served, StringComparison.Ordinal);
        Assert.NotEqual(served, NameMapper.Serve("web", "search_v2_x", "__", prefixed: true));
    }

    [Fact]
    public void Serve_TooLong_IsCutTo64WithStableHash()
    {
        var tool = new string('t', 80);
        var a = NameMapper.Serve("backend", tool, "__", prefixed: true);
        var b = NameMapper.Serve("backend", tool + "x", "__", prefixed: true);
        Assert.Equal(64, a.Length);
        Assert.Equal(a, NameMapper.Serve("backend", tool, "__", prefixed: true));
        Assert.NotEqual(a, b);
    }
}
