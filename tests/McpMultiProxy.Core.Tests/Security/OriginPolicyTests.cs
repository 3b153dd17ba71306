using McpMultiProxy.Security;

namespace McpMultiProxy.Tests.Security;

public sealed class OriginPolicyTests
{
    [Theory]
    [InlineData("http://evil.example")]
    [InlineData("https://evil.example:443")]
    [InlineData("null")]
    [InlineData("")]
    [InlineData("http://localhost.evil.example")]
    [InlineData("http://127.0.0.1.evil.example")]
    [InlineData("http://localhost:80.evil.example")]
    [InlineData("http://evil.example/http://localhost")]
    [InlineData("http://localhost@evil.example")]
    [InlineData("http://evil.example#@localhost")]
    [InlineData("http://evil.example?localhost")]
    [InlineData("http://evil.example\\@localhost")]
    [InlineData("http://[::1].evil.example")]
    [InlineData("http://localhost./")]
    [InlineData("http://127.0.0.2")]
    [InlineData("file://localhost")]
    [InlineData("chrome-extension://abcdef")]
    [InlineData("ws://localhost:1234")]
    [InlineData("http://localhost/path")]
    public void IsAllowed_NotALoopbackOrigin_IsRefused(string origin) =>
        Assert.False(OriginPolicy.IsAllowed(origin, []));

    [Theory]
    [InlineData("http://localhost")]
    [InlineData("http://localhost:6274")]
    [InlineData("https://localhost:8443")]
    [InlineData("http://127.0.0.1")]
    [InlineData("http://127.0.0.1:8765")]
    [InlineData("http://[::1]:3000")]
    [InlineData("HTTP://LOCALHOST:1")]
    [InlineData("http://localhost:6274/")]
    public void IsAllowed_LoopbackOrigin_IsAllowed(string origin) =>
        Assert.True(OriginPolicy.IsAllowed(origin, []));

    [Theory]
    [InlineData("https://app.example.org", true)]
    [InlineData("https://APP.example.org:443", true)]
    [InlineData("http://app.example.org", false)]
    [InlineData("https://app.example.org:8443", false)]
    [InlineData("https://evil-app.example.org", false)]
    [InlineData("https://app.example.org.evil.example", false)]
    public void IsAllowed_ConfiguredOrigin_MatchesExactlyOnly(string origin, bool allowed) =>
        Assert.Equal(allowed, OriginPolicy.IsAllowed(origin, ["https://app.example.org"]));

    [Theory]
    [InlineData("https://gateway.example.org", "gateway.example.org", true)]
    [InlineData("https://gateway.example.org:8443", "gateway.example.org:8443", true)]
    [InlineData("https://gateway.example.org", null, false)]
    [InlineData("https://evil.example", "gateway.example.org", false)]
    public void IsAllowed_SameOriginAsAllowedHost_IsAllowed(string origin, string? host, bool allowed) =>
        Assert.Equal(allowed, OriginPolicy.IsAllowed(origin, [], host));

    [Theory]
    [InlineData("https://app.example.org", "https://app.example.org")]
    [InlineData("HTTPS://App.Example.org:443/", "https://app.example.org")]
    [InlineData("http://x.example:8080", "http://x.example:8080")]
    [InlineData("null", null)]
    [InlineData("https://app.example.org/path", null)]
    [InlineData("mailto:a@example.org", null)]
    public void Normalize_Origin_GivesSchemeHostPort(string origin, string? expected) =>
        Assert.Equal(expected, OriginPolicy.Normalize(origin));
}
