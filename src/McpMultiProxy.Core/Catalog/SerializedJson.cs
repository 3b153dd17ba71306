using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace McpMultiProxy.Catalog;

/// <summary>
/// A JSON object serialised once, kept as its UTF-8 text and as a parsed <see cref="JsonElement"/>: a node made on
/// that element is written by copying the element's tokens, with no object graph or node tree to build or walk, so one
/// prebuilt list page serves every client that asks for it.
/// </summary>
/// <remarks>
/// A node over a custom value type would be written by the serialiser options in use (the SDK's), which know nothing
/// of it in a NativeAOT build; a node over a <see cref="JsonElement"/> is written the same way under any options.
/// </remarks>
public sealed class SerializedJson
{
    private readonly JsonElement _element;

    private SerializedJson(byte[] utf8)
    {
        Utf8 = utf8;
        _element = JsonElement.Parse(utf8);
    }

    /// <summary>The object's UTF-8 JSON text.</summary>
    public ReadOnlyMemory<byte> Utf8 { get; }

    /// <summary>
    /// A node that writes the object as it is, for one response: each gets its own (cheap, it parses nothing), so
    /// code that reads or changes one response's node cannot affect another's.
    /// </summary>
    public JsonObject NewNode() => JsonObject.Create(_element)!;

    /// <summary>Serialises <paramref name="value"/>, an object, once.</summary>
    public static SerializedJson Create<T>(T value, JsonTypeInfo<T> typeInfo) => new(JsonSerializer.SerializeToUtf8Bytes(value, typeInfo));
}
