using McpMultiProxy.Configuration;

namespace McpMultiProxy.Tests.Security;

public sealed class SecurityConfigTests
{
    [Fact]
    public void Parse_SecurityKeys_RoundTripThroughWriter()
    {
        const string Text = """
            {
              "mcpServers": { "web": { "url": "http://127.0.0.1:9/mcp", "pinTools": false } },
              "proxy": {
                "allowedCommands": ["npx", "uvx"], "pinTools": true, "allowedOrigins": ["https://app.example.org"],
                "allowedHosts": ["gateway.example.org"], "tokenFile": "/run/token", "maxMessageBytes": 1048576, "maxJsonDepth": 32
              }
            }
            """;

        var config = ConfigParser.Parse(Text, "mcp.json");
        var again = ConfigParser.Parse(ConfigWriter.ToJson(config), "again.json");

        var security = again.Settings.Security;
        Assert.Equal<string>(["npx", "uvx"], security.AllowedCommands);
        Assert.True(security.PinTools);
        Assert.Equal<string>(["https://app.example.org"], security.AllowedOrigins);
        Assert.Equal<string>(["gateway.example.org"], security.AllowedHosts);
        Assert.Equal("/run/token", security.TokenFile);
        Assert.Equal(1048576, security.MaxMessageBytes);
        Assert.Equal(32, security.MaxJsonDepth);
        Assert.Equal(config.Settings, again.Settings);
        Assert.False(again.Servers[0].PinTools);
    }

    [Theory]
    [InlineData("\"allowedOrigins\": [\"*\"]", "allowedOrigins")]
    [InlineData("\"allowedOrigins\": [\"null\"]", "allowedOrigins")]
    [InlineData("\"allowedHosts\": [\"*\"]", "allowedHosts")]
    [InlineData("\"allowedCommands\": [\"sh -c\"]", "allowedCommands")]
    [InlineData("\"maxMessageBytes\": 10", "maxMessageBytes")]
    [InlineData("\"maxJsonDepth\": 100000", "maxJsonDepth")]
    public void Parse_UnsafeOrBadSecurityValue_IsRejectedNamingTheKey(string entry, string key)
    {
        var error = Assert.Throws<ConfigException>(() => ConfigParser.Parse($$"""{ "proxy": { {{entry}} } }""", "mcp.json"));

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }
}
