using System.Text.Json;
using System.Text.Unicode;

namespace McpMultiProxy.Security;

/// <summary>
/// Checks a client's JSON-RPC body before the SDK parses it: valid UTF-8, well-formed JSON, one message object
/// (no batch: MCP removed batching in 2025-06-18 and the SDK cannot answer one), nesting within the limit.
/// One forward-only pass over bytes already in memory; nothing is allocated for a good body.
/// </summary>
internal static class JsonBodyGuard
{
    /// <summary>JSON-RPC: invalid JSON.</summary>
    public const int ParseError = -32700;

    /// <summary>JSON-RPC: not a valid request object.</summary>
    public const int InvalidRequest = -32600;

    /// <summary>
    /// Longest <c>method</c> and string <c>id</c> accepted. Real ones are a few dozen bytes; the SDK copies both into
    /// its errors and warnings, so a megabyte-long method name would be multiplied in memory and in the log.
    /// </summary>
    public const int MaxNameBytes = 256;

    /// <summary>Null when <paramref name="body"/> may go to the SDK; otherwise the JSON-RPC error code and message.</summary>
    public static (int Code, string Message)? Check(ReadOnlySpan<byte> body, int maxDepth)
    {
        if (!Utf8.IsValid(body))
        {
            return (ParseError, "Parse error: the body is not valid UTF-8.");
        }

        // One level of slack so that this check, not the reader, reports too deep a nesting.
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = maxDepth + 1, CommentHandling = JsonCommentHandling.Disallow });
        try
        {
            if (!reader.Read())
            {
                return (ParseError, "Parse error: the body is empty; send one JSON-RPC message.");
            }

            if (reader.TokenType == JsonTokenType.StartArray)
            {
                return (InvalidRequest, "Invalid request: JSON-RPC batches are not accepted (MCP removed them in 2025-06-18); send one message per request.");
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return (InvalidRequest, "Invalid request: the body must be one JSON-RPC message object.");
            }

            do
            {
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && reader.CurrentDepth >= maxDepth)
                {
                    return (InvalidRequest, $"Invalid request: the message nests deeper than {maxDepth} levels.");
                }

                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1
                    && (reader.ValueTextEquals("method"u8) || reader.ValueTextEquals("id"u8))
                    && reader.Read() && reader.TokenType == JsonTokenType.String && reader.ValueSpan.Length > MaxNameBytes)
                {
                    return (InvalidRequest, $"Invalid request: 'method' and 'id' may be at most {MaxNameBytes} bytes long.");
                }
            }
            while (reader.Read());

            return null;
        }
        catch (JsonException)
        {
            return (ParseError, "Parse error: the body is not well-formed JSON.");
        }
    }
}
