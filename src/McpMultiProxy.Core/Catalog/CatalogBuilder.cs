using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text.Json;
using McpMultiProxy.Backends;
using McpMultiProxy.Configuration;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace McpMultiProxy.Catalog;

/// <summary>A ready backend's contribution to the catalog.</summary>
public sealed record CatalogSource(BackendConfig Config, BackendLists Lists);

/// <summary>Builds the merged, namespaced catalog from the ready backends, applying filters and prefix rules.</summary>
public static class CatalogBuilder
{
    /// <summary>Builds a snapshot. <paramref name="localTools"/> are the proxy's own tools; they always win their names.</summary>
    /// <param name="sources">The ready backends, in config order.</param>
    /// <param name="localTools">The proxy's own tools.</param>
    /// <param name="settings">Prefix mode, separator, page size.</param>
    /// <param name="pins">Tool pinning: withholds tools whose definition changed since pinned; null pins nothing.</param>
    public static CatalogSnapshot Build(IReadOnlyList<CatalogSource> sources, IReadOnlyList<Tool> localTools, ProxySettings settings, ToolPins? pins = null)
    {
        var conflicts = new List<string>();

        // Tools
        var tools = new List<Tool>();
        var toolRoutes = new Dictionary<string, ToolRoute>(StringComparer.Ordinal);
        foreach (var local in localTools)
        {
            tools.Add(local);
            toolRoutes[local.Name] = new ToolRoute(null, local.Name, local, Retryable: false);
        }

        // Filters first, then pinning: a withheld tool takes no name and counts in no conflict.
        var permitted = new List<Tool>[sources.Count];
        for (var i = 0; i < sources.Count; i++)
        {
            var s = sources[i];
            List<Tool> allowed = [.. s.Lists.Tools.Where(t => s.Config.Tools.Permits(t.Name))];
            permitted[i] = pins is null ? allowed : pins.Admit(s.Config, allowed, settings);
        }

        var toolCounts = CountNames(permitted.Select(list => list.Select(t => t.Name)));
        for (var i = 0; i < sources.Count; i++)
        {
            var source = sources[i];
            foreach (var tool in permitted[i])
            {
                var served = NameMapper.Serve(source.Config.Name, tool.Name, settings.Separator, Prefixed(settings.Prefix, toolCounts, tool.Name, localTools.Any(l => l.Name == tool.Name)));
                if (toolRoutes.TryGetValue(served, out var taken))
                {
                    conflicts.Add($"tool '{tool.Name}' of server '{source.Config.Name}' is not served: the name '{served}' is already taken by {(taken.Backend is null ? "the proxy itself" : $"server '{taken.Backend}'")}.");
                    continue;
                }

                var copy = CopyTool(tool, served);
                tools.Add(copy);
                var retryable = tool.Annotations is { } a && (a.ReadOnlyHint == true || a.IdempotentHint == true);
                toolRoutes[served] = new ToolRoute(source.Config.Name, tool.Name, copy, retryable);
            }
        }

        // Prompts
        var prompts = new List<Prompt>();
        var promptRoutes = new Dictionary<string, PromptRoute>(StringComparer.Ordinal);
        var promptCounts = CountNames(sources.Select(s => s.Lists.Prompts.Where(p => s.Config.Prompts.Permits(p.Name)).Select(p => p.Name)));
        foreach (var source in sources)
        {
            foreach (var prompt in source.Lists.Prompts)
            {
                if (!source.Config.Prompts.Permits(prompt.Name))
                {
                    continue;
                }

                var served = NameMapper.Serve(source.Config.Name, prompt.Name, settings.Separator, Prefixed(settings.Prefix, promptCounts, prompt.Name, false));
                if (promptRoutes.TryGetValue(served, out var taken))
                {
                    conflicts.Add($"prompt '{prompt.Name}' of server '{source.Config.Name}' is not served: the name '{served}' is already taken by server '{taken.Backend}'.");
                    continue;
                }

                prompts.Add(new Prompt
                {
                    Name = served,
                    Title = prompt.Title,
                    Description = prompt.Description,
                    Arguments = prompt.Arguments,
                    Icons = prompt.Icons,
                    Meta = prompt.Meta,
                });
                promptRoutes[served] = new PromptRoute(source.Config.Name, prompt.Name);
            }
        }

        // Resources: URIs kept unless two backends list the same one.
        var resources = new List<Resource>();
        var resourceRoutes = new Dictionary<string, ResourceRoute>(StringComparer.Ordinal);
        foreach (var source in sources)
        {
            foreach (var resource in source.Lists.Resources)
            {
                if (!source.Config.Resources.Permits(resource.Uri))
                {
                    continue;
                }

                var uri = resource.Uri;
                if (resourceRoutes.ContainsKey(uri))
                {
                    uri = ResourceUris.Rewrite(source.Config.Name, resource.Uri);
                    conflicts.Add($"resource '{resource.Uri}' is listed by several servers; server '{source.Config.Name}' serves it as '{uri}'.");
                }

                resources.Add(new Resource
                {
                    Name = resource.Name,
                    Title = resource.Title,
                    Uri = uri,
                    Description = resource.Description,
                    MimeType = resource.MimeType,
                    Annotations = resource.Annotations,
                    Size = resource.Size,
                    Icons = resource.Icons,
                    Meta = resource.Meta,
                });
                resourceRoutes[uri] = new ResourceRoute(source.Config.Name, resource.Uri);
            }
        }

        var templates = new List<TemplateRoute>();
        foreach (var source in sources)
        {
            foreach (var template in source.Lists.Templates)
            {
                if (!source.Config.Resources.Permits(template.UriTemplate))
                {
                    continue;
                }

                templates.Add(new TemplateRoute(source.Config.Name, template, template.UriTemplate, ResourceUris.TemplateMatcher(template.UriTemplate)));
            }
        }

        // IList<T> (as in the list results), not List<T>: the SDK's source-generated metadata has those, so the
        // fingerprint needs no reflection (the proxy also runs as a NativeAOT build).
        var fingerprint = new CatalogFingerprint(
            Hash(tools, McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(IList<Tool>))),
            Hash(prompts, McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(IList<Prompt>))),
            Hash(resources, McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(IList<Resource>)))
                + Hash(templates.Select(t => t.Served).ToList(), McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(IList<ResourceTemplate>))));

        return new CatalogSnapshot(
            tools,
            toolRoutes.ToFrozenDictionary(StringComparer.Ordinal),
            prompts,
            promptRoutes.ToFrozenDictionary(StringComparer.Ordinal),
            resources,
            resourceRoutes.ToFrozenDictionary(StringComparer.Ordinal),
            templates,
            conflicts,
            fingerprint,
            settings.PageSize);
    }

    private static Tool CopyTool(Tool tool, string servedName) => new()
    {
        Name = servedName,
        Title = tool.Title,
        Description = tool.Description,
        InputSchema = tool.InputSchema,
        OutputSchema = tool.OutputSchema,
        Annotations = tool.Annotations,
        Icons = tool.Icons,
        Meta = tool.Meta,
    };

    private static bool Prefixed(PrefixMode mode, Dictionary<string, int> counts, string name, bool clashesWithLocal) => mode switch
    {
        PrefixMode.Always => true,
        PrefixMode.OnConflict => clashesWithLocal || counts.GetValueOrDefault(name) > 1,
        _ => false,
    };

    private static Dictionary<string, int> CountNames(IEnumerable<IEnumerable<string>> namesPerSource)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var names in namesPerSource)
        {
            foreach (var name in names.Distinct())
            {
                counts[name] = counts.GetValueOrDefault(name) + 1;
            }
        }

        return counts;
    }

    private static string Hash(object value, System.Text.Json.Serialization.Metadata.JsonTypeInfo typeInfo) =>
        Convert.ToHexString(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(value, typeInfo)));
}
