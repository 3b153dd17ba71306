using ModelContextProtocol.Protocol;

namespace McpMultiProxy.Backends;

/// <summary>What one backend offers, as it listed it (all pages read). Immutable once built.</summary>
public sealed record BackendLists(
    IReadOnlyList<Tool> Tools,
    IReadOnlyList<Prompt> Prompts,
    IReadOnlyList<Resource> Resources,
    IReadOnlyList<ResourceTemplate> Templates)
{
    /// <summary>Nothing.</summary>
    public static BackendLists Empty { get; } = new([], [], [], []);
}

/// <summary>Which of a backend's lists changed.</summary>
[Flags]
public enum ListKinds
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary>Tools.</summary>
    Tools = 1,

    /// <summary>Prompts.</summary>
    Prompts = 2,

    /// <summary>Resources and resource templates.</summary>
    Resources = 4,

    /// <summary>All of them.</summary>
    All = Tools | Prompts | Resources,
}
