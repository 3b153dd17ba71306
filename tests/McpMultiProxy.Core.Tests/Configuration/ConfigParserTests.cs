using McpMultiProxy.Configuration;

namespace McpMultiProxy.Tests.Configuration;

public sealed class ConfigParserTests
{
    [Fact]
    public void Parse_ClaudeDesktopFormat_ReadsStdioAndHttpServers()
    {
        var config = ConfigParser.Parse("""
            {
              "mcpServers": {
                "files":  { "command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"], "env": { "A": "b" } },
                "search": { "url": "https://example.org/mcp", "headers": { "Authorization": "Bearer ${env:SEARCH_TOKEN}" } },
                "pool":   { "urls": ["http://127.0.0.1:9001/mcp", "http://127.0.0.1:9002/mcp"], "loadBalancing": "least-outstanding" },
                "legacy": { "type": "sse", "url": "http://127.0.0.1:9003/sse", "enabled": false }
              },
              "proxy": { "separator": "__", "prefix": "on-conflict", "healthIntervalSeconds": 5 }
            }
            """, "mcp.json");

        Assert.Equal(["files", "search", "pool", "legacy"], config.Servers.Select(s => s.Name));
        var files = config.Find("files")!;
        Assert.Equal(BackendTransport.Stdio, files.Transport);
        Assert.Equal("npx", files.Command);
        Assert.Equal(["-y", "@modelcontextprotocol/server-filesystem", "/tmp"], files.Args.ToArray());
        Assert.Equal("b", files.Env["A"]);
        var search = config.Find("search")!;
        Assert.Equal(BackendTransport.Http, search.Transport);
        Assert.Equal("Bearer ${env:SEARCH_TOKEN}", search.Headers["Authorization"]);
        Assert.Equal(2, config.Find("pool")!.ReplicaCount);
        Assert.Equal(LoadBalancingMode.LeastOutstanding, config.Find("pool")!.LoadBalancing);
        Assert.Equal(BackendTransport.Sse, config.Find("legacy")!.Transport);
        Assert.False(config.Find("legacy")!.Enabled);
        Assert.Equal(PrefixMode.OnConflict, config.Settings.Prefix);
        Assert.Equal(5, config.Settings.HealthIntervalSeconds);
    }

    [Fact]
    public void Parse_VsCodeServersKeyWithComments_IsAccepted()
    {
        var config = ConfigParser.Parse("""
            // VS Code style
            { "servers": { "web": { "type": "http", "url": "http://127.0.0.1:1/mcp", }, }, "inputs": [] }
            """, "mcp.json");
        Assert.Equal("web", Assert.Single(config.Servers).Name);
    }

    [Fact]
    public void Parse_SyntaxError_NamesFileAndLine()
    {
        var ex = Assert.Throws<ConfigException>(() => ConfigParser.Parse("{\n  \"mcpServers\": {\n    \"a\": { \"url\": \"http://x/mcp\" }\n    \"b\": {}\n  }\n}", "broken.json"));
        Assert.StartsWith("broken.json:4:", ex.Message, StringComparison.Ordinal);
        Assert.Contains("not valid JSON", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UnknownKey_NamesFileLineAndKey()
    {
        var ex = Assert.Throws<ConfigException>(() => ConfigParser.Parse("""
            {
              "mcpServers": {
                "a": {
                  "url": "http://127.0.0.1:1/mcp",
                  "hedaers": {}
                }
              }
            }
            """, "mcp.json"));
        var error = Assert.Single(ex.Errors);
        Assert.StartsWith("mcp.json:5:", error, StringComparison.Ordinal);
        Assert.Contains("unknown key 'hedaers'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SeveralProblems_ReportsEveryOne()
    {
        var ex = Assert.Throws<ConfigException>(() => ConfigParser.Parse("""
            {
              "mcpServers": {
                "bad name!": { "url": "http://127.0.0.1:1/mcp" },
                "nothing": {},
                "both": { "command": "x", "url": "http://127.0.0.1:1/mcp" },
                "badurl": { "url": "ftp://x" }
              },
              "proxy": { "prefix": "sometimes" }
            }
            """, "mcp.json"));
        Assert.Equal(5, ex.Errors.Count);
        Assert.Contains(ex.Errors, e => e.Contains("'bad name!' is not valid", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Contains("server 'nothing' has no 'command'", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Contains("both 'command' and 'url'", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Contains("'ftp://x' is not a valid URL", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Contains("proxy.prefix 'sometimes'", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_WrongValueType_SaysWhatIsExpected()
    {
        var ex = Assert.Throws<ConfigException>(() => ConfigParser.Parse("""{ "mcpServers": { "a": { "command": "x", "args": "oops" } } }""", "m.json"));
        Assert.Contains("'args' must be an array of strings", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_EmptyFile_GivesEmptyConfig()
    {
        Assert.Empty(ConfigParser.Parse("  ", "m.json").Servers);
    }

    [Fact]
    public void WriterThenParser_RoundTrips()
    {
        var original = ConfigParser.Parse("""
            {
              "mcpServers": {
                "files": { "command": "npx", "args": ["-y", "x"], "env": { "TOKEN": "${env:T}" }, "cwd": "/tmp", "tools": { "allow": ["read_*"], "deny": ["read_secret"] } },
                "pool": { "urls": ["http://127.0.0.1:9001/mcp", "http://127.0.0.1:9002/mcp"], "loadBalancing": "failover", "timeoutSeconds": 12 },
                "off": { "url": "http://127.0.0.1:9003/mcp", "enabled": false, "headers": { "X-Key": "${env:KEY}" } }
              },
              "proxy": { "prefix": "never", "allowStdioAdd": true }
            }
            """, "a.json");

        var again = ConfigParser.Parse(ConfigWriter.ToJson(original), "b.json");

        Assert.Equal(original.Servers, again.Servers);
        Assert.Equal(original.Settings, again.Settings);
        Assert.Contains("${env:T}", ConfigWriter.ToJson(original), StringComparison.Ordinal);
    }
}
