using System.Text;
using McpMultiProxy.Security;
using Xunit;

namespace McpMultiProxy.Tests.Security;

public sealed class JsonBodyGuardTests
{
    public static TheoryData<string, byte[], int?> Bodies => new()
    {
        { "request", """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"x":[1,{"y":null}]}}}"""u8.ToArray(), null },
        { "notification", """{"jsonrpc":"2.0","method":"notifications/initialized"}"""u8.ToArray(), null },
        { "64 levels", Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"a\":", 63)) + "{}" + new string('}', 63)), null },
        { "65 levels", Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"a\":", 64)) + "{}" + new string('}', 64)), JsonBodyGuard.InvalidRequest },
        { "batch", "[{}]"u8.ToArray(), JsonBodyGuard.InvalidRequest },
        { "string", "\"x\""u8.ToArray(), JsonBodyGuard.InvalidRequest },
        { "empty", [], JsonBodyGuard.ParseError },
        { "whitespace", "  \n "u8.ToArray(), JsonBodyGuard.ParseError },
        { "truncated", "{\"a\":"u8.ToArray(), JsonBodyGuard.ParseError },
        { "two messages", "{}{}"u8.ToArray(), JsonBodyGuard.ParseError },
        { "invalid UTF-8", [(byte)'{', (byte)'"', 0xFF, (byte)'"', (byte)':', (byte)'1', (byte)'}'], JsonBodyGuard.ParseError },
        { "long method", Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"" + new string('m', 257) + "\"}"), JsonBodyGuard.InvalidRequest },
        { "long id", Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":\"" + new string('i', 257) + "\",\"method\":\"ping\"}"), JsonBodyGuard.InvalidRequest },
        { "long nested method is data", Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":{\"method\":\"" + new string('m', 1000) + "\"}}"), null },
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public void Check_Body_GivesTheRightJsonRpcError(string what, byte[] body, int? code) =>
        Assert.True(code == JsonBodyGuard.Check(body, 64)?.Code, what);
}
