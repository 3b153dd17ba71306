using McpMultiProxy.Configuration;

namespace McpMultiProxy.Tests.Configuration;

public sealed class EnvAndRedactionTests
{
    [Fact]
    public void Expand_KnownVariable_IsSubstituted()
    {
        var value = EnvExpander.Expand("Bearer ${env:TOKEN}", "header", n => n == "TOKEN" ? "s3cret" : null);
        Assert.Equal("Bearer s3cret", value);
    }

    [Fact]
    public void Expand_MissingVariable_NamesItWithoutShowingOtherValues()
    {
        var ex = Assert.Throws<ConfigException>(() => EnvExpander.Expand("${env:NOPE}", "server 'a' header 'Authorization'", _ => null));
        Assert.Contains("NOPE is not set", ex.Message, StringComparison.Ordinal);
        Assert.Contains("server 'a' header 'Authorization'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://user:pw@host:8080/mcp?key=abc&x=1", "http://***@host:8080/mcp?key=***&x=***")]
    [InlineData("https://example.org/mcp", "https://example.org/mcp")]
    public void RedactUrl_HidesCredentialsAndQueryValues(string url, string expected) =>
        Assert.Equal(expected, Redaction.RedactUrl(url));

    [Fact]
    public void DisplayTarget_NeverContainsEnvOrHeaderValues()
    {
        var backend = new BackendConfig
        {
            Name = "a",
            Transport = BackendTransport.Http,
            Urls = ["http://127.0.0.1:1/mcp?token=topsecret"],
            Headers = System.Collections.Immutable.ImmutableSortedDictionary<string, string>.Empty.Add("Authorization", "Bearer topsecret"),
        };
        Assert.DoesNotContain("topsecret", backend.DisplayTarget, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("read_*", "read_file", true)]
    [InlineData("read_*", "write_file", false)]
    [InlineData("*_file", "read_file", true)]
    [InlineData("r?ad", "read", true)]
    [InlineData("*", "", true)]
    public void Glob_Matches(string pattern, string text, bool expected) => Assert.Equal(expected, Glob.IsMatch(pattern, text));

    [Fact]
    public void NameFilter_DenyWinsOverAllow()
    {
        var filter = new NameFilter(["read_*"], ["read_secret"]);
        Assert.True(filter.Permits("read_file"));
        Assert.False(filter.Permits("read_secret"));
        Assert.False(filter.Permits("write_file"));
    }
}
