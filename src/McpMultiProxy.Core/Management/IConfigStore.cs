using McpMultiProxy.Configuration;

namespace McpMultiProxy.Management;

/// <summary>Where the registry saves the configuration when it changes.</summary>
public interface IConfigStore
{
    /// <summary>Where it is saved, for messages; null when nothing is saved.</summary>
    string? Location { get; }

    /// <summary>Saves <paramref name="config"/>.</summary>
    void Save(ProxyConfig config);
}

/// <summary>Saves nothing: used when the proxy runs without a config file.</summary>
public sealed class NoConfigStore : IConfigStore
{
    /// <inheritdoc/>
    public string? Location => null;

    /// <inheritdoc/>
    public void Save(ProxyConfig config)
    {
    }
}

/// <summary>Saves to the config file atomically.</summary>
public sealed class FileConfigStore(string path) : IConfigStore
{
    private readonly Lock _lock = new();

    /// <inheritdoc/>
    public string? Location => path;

    /// <summary>
    /// The <c>allowStdioAdd</c> to write when the value in force came from the command line: <c>--allow-stdio-add</c>
    /// holds for one run, and saved it would let the model start programs in every later run. Null: write the value in force.
    /// </summary>
    public bool? SavedAllowStdioAdd { get; init; }

    /// <summary>Raised after each save with the text written, so a file watcher can ignore the proxy's own writes.</summary>
    public event Action<string>? Saved;

    /// <inheritdoc/>
    public void Save(ProxyConfig config)
    {
        if (SavedAllowStdioAdd is { } allow)
        {
            config = config with { Settings = config.Settings with { AllowStdioAdd = allow } };
        }

        var text = ConfigWriter.ToJson(config);
        lock (_lock)
        {
            AtomicFile.Write(path, text);
        }

        Saved?.Invoke(text);
    }
}
