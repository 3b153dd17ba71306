using System.Collections.Concurrent;
using System.ComponentModel;
using System.Globalization;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpMultiProxy.Demo;

/// <summary>
/// Two small, real MCP servers the proxy can start as its own children, so that the first run shows
/// something working on a machine with nothing but the .NET SDK: a clock and a notepad.
/// </summary>
internal static class DemoServers
{
    public static async Task<int> RunAsync(string kind, CancellationToken cancellationToken)
    {
        using var loggerFactory = LoggerFactory.Create(b => b.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace).SetMinimumLevel(LogLevel.Warning));
        var options = new McpServerOptions
        {
            ServerInfo = new Implementation { Name = $"demo-{kind}", Version = ProxyInfo.Version },
            ToolCollection = [],
            PromptCollection = [],
            ResourceCollection = [],
        };

        if (kind == "clock")
        {
            options.ServerInstructions = "Tells the time.";
            options.ToolCollection.Add(McpServerTool.Create(
                [Description("The current time in UTC, or in a time zone such as Europe/Paris.")] (string? timeZone = null) =>
                {
                    var now = DateTimeOffset.UtcNow;
                    if (string.IsNullOrEmpty(timeZone))
                    {
                        return now.ToString("O", CultureInfo.InvariantCulture);
                    }

                    return TimeZoneInfo.ConvertTime(now, TimeZoneInfo.FindSystemTimeZoneById(timeZone)).ToString("O", CultureInfo.InvariantCulture);
                },
                new McpServerToolCreateOptions { Name = "now", ReadOnly = true }));
            options.ToolCollection.Add(McpServerTool.Create(
                [Description("Adds minutes to an ISO-8601 time and returns the result.")] (string time, double minutes) =>
                    DateTimeOffset.Parse(time, CultureInfo.InvariantCulture).AddMinutes(minutes).ToString("O", CultureInfo.InvariantCulture),
                new McpServerToolCreateOptions { Name = "add_minutes", ReadOnly = true }));
        }
        else
        {
            var notes = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
            options.ServerInstructions = "Keeps short notes in memory.";
            options.ToolCollection.Add(McpServerTool.Create(
                [Description("Saves a note under a title (replaces a note of the same title).")] (string title, string text) =>
                {
                    notes[title] = text;
                    return $"Saved '{title}' ({notes.Count} notes).";
                },
                new McpServerToolCreateOptions { Name = "add_note", Idempotent = true }));
            options.ToolCollection.Add(McpServerTool.Create(
                [Description("Lists the titles of all notes.")] () => notes.IsEmpty ? "No notes yet." : string.Join('\n', notes.Keys.Order(StringComparer.Ordinal)),
                new McpServerToolCreateOptions { Name = "list_notes", ReadOnly = true }));
            options.ToolCollection.Add(McpServerTool.Create(
                [Description("Reads one note by title.")] (string title) => notes.TryGetValue(title, out var text) ? text : $"No note titled '{title}'.",
                new McpServerToolCreateOptions { Name = "get_note", ReadOnly = true }));
            options.PromptCollection.Add(McpServerPrompt.Create(
                [Description("Asks for a summary of all notes.")] () =>
                    $"Summarise these notes in three bullet points:\n{string.Join('\n', notes.Select(n => $"- {n.Key}: {n.Value}"))}",
                new McpServerPromptCreateOptions { Name = "summarize_notes" }));
            options.ResourceCollection.Add(McpServerResource.Create(
                [Description("Every note as text.")] () => string.Join("\n\n", notes.Select(n => $"# {n.Key}\n{n.Value}")),
                new McpServerResourceCreateOptions { UriTemplate = "notes://all", Name = "all-notes", MimeType = "text/plain" }));
        }

        await using var server = McpServer.Create(new StdioServerTransport(options, loggerFactory), options, loggerFactory);
        await server.RunAsync(cancellationToken).ConfigureAwait(false);
        return 0;
    }
}
