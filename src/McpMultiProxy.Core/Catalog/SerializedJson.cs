using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace McpMultiProxy.Catalog;

/// <summary>
/// A JSON object serialised once into a <see cref="JsonElement"/>: a node made on that element is written by copying
/// the element's tokens, with no object graph or node tree to build or walk, so one prebuilt list page serves every
/// client that asks for it.
/// </summary>
/// <remarks>
/// Not a node over a custom value type: such a node is written by the serialiser options of whoever writes it (the
/// SDK's), not by its own converter (seen in a test: it came out as an object of the type's properties). A node over
/// a <see cref="JsonElement"/> is written the same way under any options.
/// </remarks>
public sealed class SerializedJson
{
    private readonly JsonElement _element;

    private SerializedJson(JsonElement element) => _element = element;

    /// <summary>The object's JSON text, as serialised.</summary>
    public string Text => _element.GetRawText();

    /// <summary>
    /// A node that writes the object as it is, for one response: each gets its own (cheap, it parses nothing), so
    /// code that reads or changes one response's node cannot affect another's.
    /// </summary>
    public JsonObject NewNode() => JsonObject.Create(_element)!;

    /// <summary>Serialises <paramref name="value"/>, an object, once.</summary>
    public static SerializedJson Create<T>(T value, JsonTypeInfo<T> typeInfo) => new(JsonSerializer.SerializeToElement(value, typeInfo));
}
