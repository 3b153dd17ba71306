using System.Collections.Immutable;
using McpMultiProxy.Configuration;
using McpMultiProxy.Security;

namespace McpMultiProxy.Tests.Security;

public sealed class SecretValuesTests
{
    private static readonly Dictionary<string, string> Environment = new() { ["API_TOKEN"] = "env-secret-value-123" };

    private static ProxyConfig Config() => new(
    [
        new BackendConfig
        {
            Name = "files",
            Transport = BackendTransport.Stdio,
            Command = "npx",
            Args = ["server", "--api-key", "args-secret-value", "--password=eq-secret-value", "ghp_abcdefghijklmnop1234"],
            Env = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [KeyValuePair.Create("TOKEN", "${env:API_TOKEN}"), KeyValuePair.Create("LITERAL", "literal-secret-value")]),
        },
        new BackendConfig
        {
            Name = "web",
            Transport = BackendTransport.Http,
            Urls = ["http://user:url-password-value@127.0.0.1:9/mcp?token=query-secret-value"],
            Headers = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [KeyValuePair.Create("Authorization", "Bearer header-secret-value")]),
        },
    ], ProxySettings.Default);

    [Theory]
    [InlineData("env-secret-value-123")]
    [InlineData("literal-secret-value")]
    [InlineData("args-secret-value")]
    [InlineData("eq-secret-value")]
    [InlineData("ghp_abcdefghijklmnop1234")]
    [InlineData("url-password-value")]
    [InlineData("query-secret-value")]
    [InlineData("header-secret-value")]
    [InlineData("Bearer header-secret-value")]
    public void Scrub_EveryKindOfConfiguredSecret_IsMasked(string secret)
    {
        var secrets = new SecretValues();
        secrets.UpdateFrom(Config(), n => Environment.GetValueOrDefault(n));

        var scrubbed = secrets.Scrub($"before {secret} after, and JSON \"{secret}\"");

        Assert.DoesNotContain(secret, scrubbed, StringComparison.Ordinal);
        Assert.Contains("before *** after", scrubbed, StringComparison.Ordinal);
    }

    [Fact]
    public void Scrub_AddedToken_IsMaskedAndShortValuesAreNot()
    {
        var secrets = new SecretValues();
        secrets.Add("token-from-the-front-door");
        secrets.Add("abc");

        Assert.Equal("x *** y abc", secrets.Scrub("x token-from-the-front-door y abc"));
    }

    [Fact]
    public void DisplayTarget_SecretArguments_AreRedacted()
    {
        var target = Config().Servers[0].DisplayTarget;

        Assert.Equal("npx server --api-key *** --password=*** ***", target);
    }
}
