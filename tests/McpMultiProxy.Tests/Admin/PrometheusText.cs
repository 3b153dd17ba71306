using System.Globalization;
using System.Text.RegularExpressions;

namespace McpMultiProxy.Tests.Admin;

/// <summary>Parses a Prometheus text exposition into samples; lookups ignore the labels they do not name.</summary>
public sealed partial class PrometheusText
{
    private readonly List<(string Name, Dictionary<string, string> Labels, double Value)> _samples = [];

    public PrometheusText(string text)
    {
        Text = text;
        foreach (var line in text.Split('\n'))
        {
            var match = Sample().Match(line.TrimEnd('\r'));
            if (!match.Success)
            {
                continue;
            }

            var labels = Label().Matches(match.Groups["labels"].Value).ToDictionary(m => m.Groups["key"].Value, m => m.Groups["value"].Value);
            _samples.Add((match.Groups["name"].Value, labels, double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture)));
        }
    }

    public string Text { get; }

    /// <summary>The value of the one sample of <paramref name="name"/> whose labels include all of <paramref name="labels"/> ("key=value").</summary>
    public double Value(string name, params string[] labels)
    {
        var found = Find(name, labels);
        return found.Count == 1
            ? found[0]
            : throw new InvalidOperationException($"{found.Count} samples of {name}{{{string.Join(",", labels)}}} in:\n{Text}");
    }

    /// <summary>Values of every sample of <paramref name="name"/> whose labels include all of <paramref name="labels"/>.</summary>
    public IReadOnlyList<double> Find(string name, params string[] labels) =>
        [.. _samples
            .Where(s => s.Name == name && labels.All(l => l.Split('=', 2) is [var key, var value] && s.Labels.GetValueOrDefault(key) == value))
            .Select(s => s.Value)];

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)(\s+\d+)?$""")]
    private static partial Regex Sample();

    [GeneratedRegex(@"(?<key>[a-zA-Z_][a-zA-Z0-9_]*)=""(?<value>(?:[^""\\]|\\.)*)""")]
    private static partial Regex Label();
}
