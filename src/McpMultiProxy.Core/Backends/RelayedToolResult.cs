using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace McpMultiProxy.Backends;

/// <summary>
/// A backend's <c>tools/call</c> result for the client's <c>tools/call</c>: either the node the SDK client read from the
/// backend's answer, relayed through the SDK's alternate-result seam (<see cref="ResultOrAlternate{TResult}"/>) without
/// becoming a <see cref="CallToolResult"/> on the way, or, where that is not right, the result typed as before.
/// Typing it reads every text block into a .NET string and writes it out again; for a result of 1 MiB that was most
/// of the proxy's work (transcoding, escaping, large-object garbage).
/// </summary>
/// <remarks>
/// Relayed only from a backend session before the 2026-07-28 revision (a result of that era carries fields of its
/// era) and only when the result is shaped like a tool result (an object; <c>content</c> an array and <c>isError</c> a
/// boolean where present). Anything else is typed, so it fails or is tolerated exactly as it was. The caller decides
/// for the client's side (see <see cref="Routing.ProxyHandlers.CallToolWithAlternateAsync"/>).
/// </remarks>
public sealed class RelayedToolResult : Result
{
    private RelayedToolResult(JsonObject? node, CallToolResult? typed)
    {
        Node = node;
        Typed = typed;
    }

    /// <summary>The result as the backend sent it, when it is relayed as it is.</summary>
    public JsonObject? Node { get; }

    /// <summary>The result typed, when it is not relayed as it is.</summary>
    public CallToolResult? Typed { get; }

    /// <summary>The serialisation contract the SDK writes the alternate with: the node, as it is.</summary>
    public static JsonTypeInfo<RelayedToolResult> TypeInfo { get; } = JsonMetadataServices.CreateValueInfo<RelayedToolResult>(
        new JsonSerializerOptions(McpJsonUtilities.DefaultOptions), new NodeConverter());

    /// <summary>Whether the relayed node says the tool failed (<c>isError: true</c>); for a typed result see <see cref="Typed"/>.</summary>
    public bool IsError => Node is not null && Node.TryGetPropertyValue("isError", out var isError) && isError?.GetValueKind() == JsonValueKind.True;

    /// <summary>
    /// The result read from <paramref name="result"/>, the answer of a backend session of revision
    /// <paramref name="backendProtocolVersion"/>; throws <see cref="JsonException"/> where the SDK client would.
    /// </summary>
    internal static RelayedToolResult Read(JsonNode? result, string? backendProtocolVersion) =>
        result is JsonObject node && IsToolResultShaped(node) && !ProtocolRevisions.IsJuly2026OrLater(backendProtocolVersion)
            ? new RelayedToolResult(node, null)
            : new RelayedToolResult(null, JsonSerializer.Deserialize(result, McpJsonUtilities.DefaultOptions.GetTypeInfo<CallToolResult>())
                ?? throw new JsonException("Unexpected JSON result in response."));

    /// <summary>The first text block of the relayed node, for the error log of a failed tool.</summary>
    public string? FirstText()
    {
        if (Node?["content"] is JsonArray content)
        {
            foreach (var block in content)
            {
                if (block is JsonObject b && b["type"] is JsonValue type && type.TryGetValue<string>(out var kind) && kind == "text"
                    && b["text"] is JsonValue text && text.TryGetValue<string>(out var s))
                {
                    return s;
                }
            }
        }

        return null;
    }

    private static bool IsToolResultShaped(JsonObject result) =>
        (!result.TryGetPropertyValue("content", out var content) || content is JsonArray)
        && (!result.TryGetPropertyValue("isError", out var isError) || isError?.GetValueKind() is JsonValueKind.True or JsonValueKind.False);

    private sealed class NodeConverter : JsonConverter<RelayedToolResult>
    {
        public override RelayedToolResult Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            throw new NotSupportedException("A relayed tool result is only written.");

        public override void Write(Utf8JsonWriter writer, RelayedToolResult value, JsonSerializerOptions options)
        {
            if (value.Node is null)
            {
                throw new InvalidOperationException("Only a result that is relayed as it is can be written as one.");
            }

            value.Node.WriteTo(writer, options);
        }
    }
}
