using McpMultiProxy.Cli;
using McpMultiProxy.Configuration;
using McpMultiProxy.Security;
using McpMultiProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace McpMultiProxy.Tests.Security;

public sealed class FrontDoorPolicyTests
{
    /// <summary>Where the proxy listens, the flags, and whether it may start (and then whether a token is required).</summary>
    public static TheoryData<string, bool, bool, string?> Setups => new()
    {
        { "127.0.0.1:0", false, false, "open" },
        { "localhost:0", false, false, "open" },
        { "[::1]:0", false, false, "open" },
        { "127.0.0.1:0", false, true, "token" },
        { "0.0.0.0:0", false, false, null },
        { "0.0.0.0:0", false, true, null },
        { "0.0.0.0:0", true, false, null },
        { "0.0.0.0:0", true, true, "token" },
        { "[::]:0", true, true, "token" },
        { "192.168.1.10:0", true, true, "token" },
    };

    [Theory]
    [MemberData(nameof(Setups))]
    public void CreatePolicy_Address_RemoteNeedsAllowRemoteAndAToken(string address, bool allowRemote, bool token, string? outcome)
    {
        using var temp = new TempDirectory();
        var options = new ProxyRunOptions { Http = address, AllowRemote = allowRemote, TokenFile = token ? temp.Combine("token") : null };

        var create = () => FrontDoor.CreatePolicy(ListenAddress.Parse(address), options, SecuritySettings.Default, out _, out _);

        if (outcome is null)
        {
            Assert.Throws<ConfigException>(create);
        }
        else
        {
            Assert.Equal(outcome == "token", create().Token is not null);
        }
    }

    [Theory]
    [InlineData("0.0.0.0:0", null, "anything.example", true)]
    [InlineData("0.0.0.0:0", "gateway.example.org", "anything.example", false)]
    [InlineData("0.0.0.0:0", "gateway.example.org", "gateway.example.org:8765", true)]
    [InlineData("0.0.0.0:0", "*.example.org", "a.example.org", true)]
    [InlineData("192.168.1.10:0", null, "192.168.1.10:8765", true)]
    [InlineData("192.168.1.10:0", null, "evil.example", false)]
    [InlineData("127.0.0.1:0", null, "evil.example", false)]
    [InlineData("127.0.0.1:0", null, "LOCALHOST:1", true)]
    public void CheckHost_RemoteListener_AcceptsItsOwnNamesOrAnyWithAToken(string address, string? allowedHosts, string host, bool allowed)
    {
        using var temp = new TempDirectory();
        var options = new ProxyRunOptions { Http = address, AllowRemote = true, TokenFile = temp.Combine("token"), AllowedHosts = allowedHosts };
        var policy = FrontDoor.CreatePolicy(ListenAddress.Parse(address), options, SecuritySettings.Default, out _, out _);

        Assert.Equal(allowed, policy.CheckHost(new HostString(host)).Allowed);
    }

    [Fact]
    public void CreatePolicy_TokenFileInConfig_IsRelativeToTheConfigFile()
    {
        using var temp = new TempDirectory();
        var options = new ProxyRunOptions { Http = "127.0.0.1:0", ConfigPath = temp.Combine("conf/mcp.json") };

        var policy = FrontDoor.CreatePolicy(ListenAddress.Parse("127.0.0.1:0"), options, SecuritySettings.Default with { TokenFile = "secrets/token" }, out var created, out _);

        Assert.True(created);
        Assert.Equal(temp.Combine("conf/secrets/token"), policy.TokenFile);
        Assert.True(File.Exists(policy.TokenFile));
    }

    [Fact]
    public void LoadOrCreate_FileReadableByOthers_Warns()
    {
        using var temp = new TempDirectory();
        var path = temp.WriteFile("token", "a-token-of-enough-length-123\n");
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        var token = BearerToken.LoadOrCreate(path, out var created, out var warning);

        Assert.False(created);
        Assert.Contains("chmod 600", warning, StringComparison.Ordinal);
        Assert.True(token.Matches("Bearer a-token-of-enough-length-123"));
    }

    [Theory]
    [InlineData("short")]
    [InlineData("has a space in the middle of it")]
    [InlineData("")]
    public void LoadOrCreate_BadTokenFile_StopsStartup(string content)
    {
        using var temp = new TempDirectory();
        var path = temp.WriteFile("token", content);

        Assert.Throws<ConfigException>(() => BearerToken.LoadOrCreate(path, out _, out _));
    }
}
