using System.Globalization;
using System.Text.Json.Nodes;
using McpMultiProxy.Catalog;

namespace McpMultiProxy.Management;

/// <summary>How withheld (changed since pinned) tools are shown in <c>proxy_status</c>, for people and for programs (the web console).</summary>
internal static class PinReport
{
    public static JsonArray Withheld(IReadOnlyList<PinChange> pending) =>
        new([.. pending.Select(c => new JsonObject
        {
            ["server"] = c.Server,
            ["tool"] = c.Tool,
            ["changed"] = new JsonArray([.. c.ChangedParts.Select(p => JsonValue.Create(p))]),
            ["pinnedAt"] = c.Pinned.PinnedAt.ToString("O", CultureInfo.InvariantCulture),
            ["detectedAt"] = c.Current.PinnedAt.ToString("O", CultureInfo.InvariantCulture),
            ["pinnedDescription"] = c.Pinned.Description,
            ["currentDescription"] = c.Current.Description,
            ["pinnedHash"] = c.Pinned.Hash,
            ["currentHash"] = c.Current.Hash,
        })]);

    public static IEnumerable<string> Lines(IReadOnlyList<PinChange> pending) =>
        pending.Select(c =>
            $"withheld: tool '{c.Tool}' of server '{c.Server}' changed since it was pinned ({string.Join(", ", c.ChangedParts)}); " +
            $"approve it with manage action 'approve', name '{c.Server}', tool '{c.Tool}'.");
}
