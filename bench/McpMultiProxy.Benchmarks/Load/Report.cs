using System.Globalization;
using System.Text;

namespace McpMultiProxy.Benchmarks.Load;

/// <summary>
/// One line of the report: the figure, what was measured on each side, the result, its target and the verdict
/// (null: no target, or a measurement that cannot say, see <see cref="Report.AddedLatency"/>).
/// </summary>
internal sealed record Figure(string Name, string Direct, string Proxy, string Value, string Target, bool? Pass)
{
    /// <summary>Whether the figure has a target at all.</summary>
    public bool HasTarget => Target.Length > 0;

    /// <summary>The verdict column: pass, MISS, noise (a target, but no verdict), or nothing.</summary>
    public string Verdict => Pass switch { true => "pass", false => "MISS", null => HasTarget ? "noise" : "" };
}

/// <summary>Collects figures and prints them as a Markdown table (it pastes into the README as is).</summary>
internal sealed class Report
{
    private readonly List<Figure> _figures = [];

    public IReadOnlyList<Figure> Figures => _figures;

    public void Add(Figure figure)
    {
        _figures.Add(figure);
        Console.Error.WriteLine($"  {figure.Name}: {figure.Value}{(figure.Target.Length > 0 ? $" (target {figure.Target})" : "")}");
    }

    /// <summary>A "higher is better" ratio figure.</summary>
    public void Ratio(string name, double direct, double proxy, string unit, double target) =>
        Add(new Figure(name, F(direct, unit), F(proxy, unit), $"{proxy / direct:0.00}×", $"≥ {target:0.00}×", proxy / direct >= target));

    /// <summary>A "lower is better" absolute figure.</summary>
    public void AtMost(string name, double value, string unit, double target, string direct = "", string proxy = "") =>
        Add(new Figure(name, direct, proxy, F(value, unit), $"≤ {F(target, unit)}", value <= target));

    /// <summary>
    /// Latency the proxy adds, a "lower is better" figure. Negative means the direct side had the worse tail in this
    /// run (noise on a shared machine): it is shown with its target but judged "noise", neither pass nor miss.
    /// </summary>
    public void AddedLatency(string name, double value, double target, string direct, string proxy)
    {
        if (value >= 0)
        {
            AtMost(name, value, "ms", target, direct, proxy);
            return;
        }

        Add(new Figure(name, direct, proxy, F(value, "ms"), $"≤ {F(target, "ms")}", null));
    }

    /// <summary>A figure without a target.</summary>
    public void Info(string name, string value, string direct = "", string proxy = "") => Add(new Figure(name, direct, proxy, value, "", null));

    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine("| figure | direct | through proxy | result | target | |");
        text.AppendLine("|---|---:|---:|---:|---:|---|");
        foreach (var f in _figures)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {f.Name} | {f.Direct} | {f.Proxy} | {f.Value} | {f.Target} | {f.Verdict} |");
        }

        return text.ToString();
    }

    public static string F(double value, string unit) => unit switch
    {
        "calls/s" => $"{value:0} calls/s",
        "ms" => value < 10 ? $"{value:0.000} ms" : $"{value:0.0} ms",
        "MiB" => $"{value:0.0} MiB",
        "MiB/s" => $"{value:0} MiB/s",
        _ => $"{value:0.###} {unit}",
    };
}
