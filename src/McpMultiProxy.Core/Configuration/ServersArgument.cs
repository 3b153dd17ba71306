namespace McpMultiProxy.Configuration;

/// <summary>Parses <c>--servers main=http://a/mcp,backup=http://b/mcp</c>; a bare URL gets a generated name.</summary>
public static class ServersArgument
{
    /// <summary>Parses the value; throws <see cref="ConfigException"/> naming the bad entry.</summary>
    public static IReadOnlyList<BackendConfig> Parse(string value, ProxySettings settings)
    {
        var result = new List<BackendConfig>();
        var errors = new List<string>();
        foreach (var raw in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string name, url;
            var eq = raw.IndexOf('=', StringComparison.Ordinal);
            var scheme = raw.IndexOf("://", StringComparison.Ordinal);
            if (eq > 0 && (scheme < 0 || eq < scheme))
            {
                name = raw[..eq].Trim();
                url = raw[(eq + 1)..].Trim();
            }
            else if (scheme > 0)
            {
                url = raw;
                name = GenerateName(url, result.Select(r => r.Name));
            }
            else
            {
                errors.Add($"--servers: '{raw}' is not name=url. Write each server as name=url, separated by commas, e.g. --servers main=http://localhost:8000/mcp,backup=http://localhost:8001/mcp");
                continue;
            }

            var problems = ConfigValidator.ValidateName(name, settings.Separator).ToList();
            if (ConfigValidator.ValidateUrl(url) is { } urlProblem)
            {
                problems.Add(urlProblem);
            }

            if (result.Any(r => r.Name == name))
            {
                problems.Add($"server name '{name}' is given twice; give each server a unique name.");
            }

            if (problems.Count > 0)
            {
                errors.AddRange(problems.Select(p => $"--servers: {p}"));
                continue;
            }

            result.Add(new BackendConfig { Name = name, Transport = BackendTransport.Http, Urls = [url] });
        }

        if (errors.Count > 0)
        {
            throw new ConfigException(errors);
        }

        return result;
    }

    /// <summary>A name for a bare URL: its host and port made safe, unique among <paramref name="taken"/>.</summary>
    public static string GenerateName(string url, IEnumerable<string> taken)
    {
        var set = taken.ToHashSet(StringComparer.Ordinal);
        var stem = Uri.TryCreate(url, UriKind.Absolute, out var uri)
            ? new string($"{uri.Host}-{uri.Port}".Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray()).Trim('-')
            : "server";
        if (stem.Length > ConfigValidator.MaxNameLength - 3)
        {
            stem = stem[..(ConfigValidator.MaxNameLength - 3)];
        }

        var name = stem;
        for (var i = 2; set.Contains(name); i++)
        {
            name = $"{stem}-{i}";
        }

        return name;
    }

}
