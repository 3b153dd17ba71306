using System.Text;

namespace McpMultiProxy.Tests.Security;

/// <summary>
/// A deterministic corpus of malformed JSON-RPC messages (newline-free, so each is one stdio line): truncated
/// JSON, wrong types, unknown methods, deep nesting, huge strings, invalid UTF-8, control bytes, plus seeded
/// random mutations of valid messages. The same corpus is thrown at the proxy by clients and by backends.
/// </summary>
internal static class MalformedMessages
{
    /// <summary>Valid messages the mutations start from.</summary>
    private static readonly string[] Seeds =
    [
        """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"fuzz","version":"1"}}}""",
        """{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"b__echo","arguments":{"text":"hi"}}}""",
        """{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"cursor":"abc"}}""",
        """{"jsonrpc":"2.0","id":4,"result":{"content":[{"type":"text","text":"x"}]}}""",
        """{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":1,"total":2}}""",
        """{"jsonrpc":"2.0","id":"s1","method":"sampling/createMessage","params":{"messages":[],"maxTokens":1}}""",
    ];

    /// <summary>Every case: a name for failure messages and the bytes (never containing a newline).</summary>
    public static IReadOnlyList<(string Name, byte[] Bytes)> Build(int mutations, int seed = 5)
    {
        var cases = new List<(string, byte[])>();
        void Text(string name, string text) => cases.Add((name, Encoding.UTF8.GetBytes(text)));

        foreach (var text in new[] { "", " ", "\t", "null", "true", "0", "-1e999", "\"a string\"", "[]", "[1,2,3]", "{}", "}", "{", "[", "\"", "{\"jsonrpc\":\"2.0\"}" })
        {
            Text($"scalar or empty: {text}", text);
        }

        for (var cut = 1; cut < Seeds[0].Length; cut += 9)
        {
            Text($"truncated at {cut}", Seeds[0][..cut]);
        }

        string[] wrongTypes =
        [
            """{"jsonrpc":"1.0","id":1,"method":"ping"}""",
            """{"jsonrpc":2,"id":1,"method":"ping"}""",
            """{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}""",
            """{"jsonrpc":"2.0","id":[1],"method":"ping"}""",
            """{"jsonrpc":"2.0","id":true,"method":"ping"}""",
            """{"jsonrpc":"2.0","id":1.5,"method":"ping"}""",
            """{"jsonrpc":"2.0","id":1e400,"method":"ping"}""",
            """{"jsonrpc":"2.0","id":null,"method":"ping"}""",
            """{"jsonrpc":"2.0","id":99999999999999999999999,"method":"ping"}""",
            """{"jsonrpc":"2.0","id":1,"method":12}""",
            """{"jsonrpc":"2.0","id":1,"method":null}""",
            """{"jsonrpc":"2.0","id":1,"method":["tools/list"]}""",
            """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":"string"}""",
            """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[1,2]}""",
            """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":123}}""",
            """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":null}}""",
            """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"b__echo","arguments":"not an object"}}""",
            """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"b__echo","arguments":{"text":{"deep":[1,2]}}}}""",
            """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"b__nonexistent"}}""",
            """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"manage","arguments":{"action":"add","name":"x","command":"sh","args":["-c","id"]}}}""",
            """{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":12}}""",
            """{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///etc/passwd"}}""",
            """{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"b__greet","arguments":{"name":["x"]}}}""",
            """{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"bogus"},"argument":5}}""",
            """{"jsonrpc":"2.0","id":1,"method":"logging/setLevel","params":{"level":"apocalypse"}}""",
            """{"jsonrpc":"2.0","id":1,"result":5}""",
            """{"jsonrpc":"2.0","id":424242,"result":{}}""",
            """{"jsonrpc":"2.0","id":1,"error":{"code":"x","message":7}}""",
            """{"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"both"}}""",
            """{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}""",
            """{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":{"x":1}}}""",
            """{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":{"x":1},"progress":"a lot"}}""",
            """{"jsonrpc":"2.0","method":"notifications/tools/list_changed","params":5}""",
            """{"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":null}}""",
            """{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"bogus","data":{"a":[1,{"b":null}]}}}""",
            """{"jsonrpc":"2.0","id":"srv-1","method":"roots/list","params":"x"}""",
            """{"jsonrpc":"2.0","id":"srv-2","method":"elicitation/create","params":{"message":5,"requestedSchema":"x"}}""",
            """{"jsonrpc":"2.0","id":"srv-3","method":"sampling/createMessage","params":{"messages":"x"}}""",
            """{"jsonrpc":"2.0","id":1,"method":"evil/method","params":{}}""",
            """{"jsonrpc":"2.0","id":1,"method":"","params":{}}""",
            """{"jsonrpc":"2.0","id":1,"method":"rpc.discover"}""",
            """{"jsonrpc":"2.0","method":"notifications/evil","params":{"a":1}}""",
            """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"1999-01-01","capabilities":"x","clientInfo":5}}""",
            """{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{"_meta":5}}""",
            """{"jsonrpc":"2.0","id":1,"method":"subscriptions/listen","params":{"notifications":"all"}}""",
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"a\":\"\\u0000\\ud800\"}}",
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}garbage",
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}",
        ];
        foreach (var text in wrongTypes)
        {
            Text($"wrong types or unknown: {text[..Math.Min(60, text.Length)]}", text);
        }

        foreach (var depth in new[] { 65, 1000, 100_000 })
        {
            Text($"nested arrays {depth}", new string('[', depth) + new string(']', depth));
            Text($"nested objects {depth} in params", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":" + string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth) + "}");
            Text($"unclosed nesting {depth}", new string('{', 1) + string.Concat(Enumerable.Repeat("\"a\":[", depth)));
        }

        foreach (var kb in new[] { 512, 3 * 1024 })
        {
            Text($"huge string {kb} KiB", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"b__echo\",\"arguments\":{\"text\":\"" + new string('x', kb * 1024) + "\"}}}");
            Text($"huge method name {kb} KiB", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"" + new string('m', kb * 1024) + "\"}");
        }

        Text("many keys", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{" + string.Join(',', Enumerable.Range(0, 50_000).Select(i => $"\"k{i}\":{i}")) + "}}");

        byte[][] invalidUtf8 = [[0xC3, 0x28], [0xFF, 0xFE], [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0xF8, 0x88, 0x80, 0x80, 0x80], [0x80], [0xE2, 0x82]];
        foreach (var bad in invalidUtf8)
        {
            var hex = Convert.ToHexString(bad);
            cases.Add(($"invalid UTF-8 {hex} in a string", [.. "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"b__echo\",\"arguments\":{\"text\":\""u8, .. bad, .. "\"}}}"u8]));
            cases.Add(($"invalid UTF-8 {hex} in a key", [.. "{\"jsonrpc\":\"2.0\",\"id\":1,\""u8, .. bad, .. "\":1,\"method\":\"ping\"}"u8]));
            cases.Add(($"invalid UTF-8 {hex} alone", bad));
        }

        cases.Add(("BOM first", [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(Seeds[2])]));
        cases.Add(("NUL bytes", [.. "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\""u8, 0, 0, .. "}"u8]));
        cases.Add(("control bytes", [1, 2, 3, 4, 27, 91, 50, 74, 7, 8]));
        cases.Add(("carriage returns", "{\"jsonrpc\":\"2.0\",\r\"id\":1,\r\"method\":\"ping\"}\r"u8.ToArray()));

        var random = new Random(seed);
        for (var i = 0; i < mutations; i++)
        {
            var bytes = Encoding.UTF8.GetBytes(Seeds[random.Next(Seeds.Length)]).ToList();
            var edits = random.Next(1, 6);
            for (var e = 0; e < edits && bytes.Count > 0; e++)
            {
                var at = random.Next(bytes.Count);
                switch (random.Next(4))
                {
                    case 0: bytes[at] = (byte)random.Next(256); break;
                    case 1: bytes.Insert(at, (byte)random.Next(256)); break;
                    case 2: bytes.RemoveRange(at, Math.Min(bytes.Count - at, random.Next(1, 20))); break;
                    default: bytes.InsertRange(at, "{[\"\\:,}]"u8.ToArray().Skip(random.Next(8)).Take(random.Next(1, 4))); break;
                }
            }

            cases.Add(($"mutation {i}", [.. bytes.Select(b => b == (byte)'\n' ? (byte)' ' : b)]));
        }

        return cases;
    }
}
