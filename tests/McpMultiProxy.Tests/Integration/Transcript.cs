using System.Text;

namespace McpMultiProxy.Tests.Integration;

/// <summary>
/// A readable record of what a test sent and got back, written to the file named by the environment variable
/// <c>MCP_MULTIPROXY_TRANSCRIPT</c> when it is set (to show a session end to end); otherwise nothing is written.
/// </summary>
internal sealed class Transcript
{
    public const string EnvironmentVariable = "MCP_MULTIPROXY_TRANSCRIPT";

    private readonly string? _path = Environment.GetEnvironmentVariable(EnvironmentVariable);
    private readonly StringBuilder _text = new();

    /// <summary>A step: what was done.</summary>
    public void Step(string what) => Line($"\n## {what}");

    /// <summary>What was sent.</summary>
    public void Sent(string request) => Line($"> {request}");

    /// <summary>What came back (each line prefixed).</summary>
    public void Got(string answer)
    {
        foreach (var line in answer.Split('\n'))
        {
            Line($"< {line}");
        }
    }

    /// <summary>Writes the file (when asked for).</summary>
    public void Save()
    {
        if (_path is not null)
        {
            File.WriteAllText(_path, _text.ToString().TrimStart() + "\n");
        }
    }

    private void Line(string line) => _text.AppendLine(line);
}
