using McpMultiProxy.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace McpMultiProxy.Management;

/// <summary>
/// Hot reload: watches the config file and, once edits have settled (debounced), applies it through the
/// registry, which touches only added, removed and changed backends. A file that fails to parse or validate
/// is reported (log and <c>proxy_status.proxy.configError</c>) and the last good config stays in force. The
/// proxy's own saves (<c>manage</c> changes) are recognised by their content and not applied again.
/// </summary>
public sealed partial class ConfigFileWatcher : BackgroundService
{
    /// <summary>Quiet time before a change is read: editors write a file in several steps.</summary>
    public static readonly TimeSpan DefaultDebounce = TimeSpan.FromMilliseconds(300);

    private readonly string _path;
    private readonly BackendRegistry _registry;
    private readonly FileConfigStore? _store;
    private readonly Func<ProxyConfig, ProxyConfig> _overrides;
    private readonly ILogger _logger;
    private readonly Debouncer _debouncer;
    private readonly Lock _lock = new();
    private string? _knownText;

    /// <summary>Creates the watcher; <paramref name="overrides"/> re-applies command-line settings to each reloaded config.</summary>
    public ConfigFileWatcher(
        string path,
        BackendRegistry registry,
        FileConfigStore? store,
        Func<ProxyConfig, ProxyConfig> overrides,
        TimeProvider time,
        ILogger<ConfigFileWatcher> logger,
        TimeSpan? debounce = null)
    {
        _path = Path.GetFullPath(path);
        _registry = registry;
        _store = store;
        _overrides = overrides;
        _logger = logger;
        _knownText = ReadText();
        _debouncer = new Debouncer(debounce ?? DefaultDebounce, time, ReloadAsync);
        _debouncer.Ran += () => Reloaded?.Invoke();
    }

    /// <summary>Raised after each debounced look at the file (applied, unchanged or refused).</summary>
    public event Action? Reloaded;

    /// <summary>Called when the file may have changed; the watcher calls it, tests may too.</summary>
    public void OnFileChanged() => _debouncer.Trigger();

    /// <summary>Reads the file now and applies it if it differs from the config in force.</summary>
    public async Task ReloadAsync()
    {
        var text = ReadText();
        lock (_lock)
        {
            if (text is null || text == _knownText)
            {
                // Gone (an editor's rename in progress, or deleted: the config in force stays), or nothing new.
                if (text is not null && _registry.ConfigError is not null)
                {
                    // Edited back to what is in force: there is no problem any more.
                    _registry.ReportConfigError(null);
                }

                return;
            }
        }

        ProxyConfig config;
        try
        {
            config = ConfigParser.Parse(text, _path);
        }
        catch (ConfigException ex)
        {
            LogRefused(_logger, _path, ex.Errors.Count, string.Join(" | ", ex.Errors));
            _registry.ReportConfigError(string.Join("\n", ex.Errors));
            return;
        }

        lock (_lock)
        {
            _knownText = text;
        }

        try
        {
            await _registry.ApplyAsync(_overrides(config), CancellationToken.None).ConfigureAwait(false);
            _registry.ReportConfigError(null);
            LogReloaded(_logger, _path, config.Servers.Count);
        }
        catch (Exception ex) when (ex is ManagementException or ConfigException or IOException)
        {
            LogApplyFailed(_logger, _path, ex.Message);
            _registry.ReportConfigError(ex.Message);
        }
    }

    /// <inheritdoc/>
    public override void Dispose()
    {
        _debouncer.Dispose();
        base.Dispose();
    }

    /// <summary>
    /// Subscribes to the proxy's own saves before start returns. Since .NET 10 the whole of <see cref="ExecuteAsync"/>
    /// runs in the background, so a subscription made there could miss a save made right after start, and that save
    /// would then be applied again as if the user had edited the file.
    /// </summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (_store is not null)
        {
            _store.Saved += OnSaved;
        }

        return base.StartAsync(cancellationToken);
    }

    /// <inheritdoc/>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await base.StopAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (_store is not null)
            {
                _store.Saved -= OnSaved;
            }
        }
    }

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var directory = Path.GetDirectoryName(_path)!;
        var name = Path.GetFileName(_path);
        try
        {
            Directory.CreateDirectory(directory);

            // The directory, not the file: saves replace the file by renaming a temporary one over it.
            using var watcher = new FileSystemWatcher(directory)
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
                IncludeSubdirectories = false,
            };
            void OnEvent(object sender, FileSystemEventArgs e)
            {
                if (e.Name == name || (e is RenamedEventArgs r && r.OldName == name))
                {
                    OnFileChanged();
                }
            }

            watcher.Changed += OnEvent;
            watcher.Created += OnEvent;
            watcher.Renamed += OnEvent;
            watcher.Deleted += OnEvent;
            watcher.Error += (_, e) =>
            {
                LogWatchError(_logger, _path, e.GetException().Message);
                OnFileChanged();
            };
            watcher.EnableRaisingEvents = true;
            LogWatching(_logger, _path);
            await Task.Delay(Timeout.Infinite, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or PlatformNotSupportedException)
        {
            LogWatchError(_logger, _path, $"{ex.Message}; edits to the file are not applied until the proxy restarts");
        }
    }

    private void OnSaved(string text)
    {
        // The proxy wrote the file itself: that content is already in force. The text is the one written, not
        // the file read back, so a user's edit landing just after the save is still seen as new.
        lock (_lock)
        {
            _knownText = text;
        }
    }

    private string? ReadText()
    {
        try
        {
            return File.Exists(_path) ? File.ReadAllText(_path) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Watching {Path} for changes")]
    private static partial void LogWatching(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reloaded {Path}: {Count} servers")]
    private static partial void LogReloaded(ILogger logger, string path, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "The edited config {Path} was not applied ({Count} problem(s)); the last good config stays in force: {Errors}")]
    private static partial void LogRefused(ILogger logger, string path, int count, string errors);

    [LoggerMessage(Level = LogLevel.Error, Message = "The edited config {Path} could not be applied: {Reason}")]
    private static partial void LogApplyFailed(ILogger logger, string path, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Watching {Path}: {Reason}")]
    private static partial void LogWatchError(ILogger logger, string path, string reason);
}
