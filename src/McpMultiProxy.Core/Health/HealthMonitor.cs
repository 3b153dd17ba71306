using McpMultiProxy.Management;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace McpMultiProxy.Health;

/// <summary>
/// Pings every live backend on the configured interval. Each ping's outcome feeds the replica's state:
/// a miss makes it degraded, <see cref="Backends.Replica.FailuresBeforeReconnect"/> in a row make the proxy
/// drop the session and reconnect. The loop never dies: a failure is logged and the next tick runs.
/// </summary>
public sealed partial class HealthMonitor(BackendRegistry registry, TimeProvider time, ILogger<HealthMonitor> logger) : BackgroundService
{
    /// <summary>Runs one round of pings (also used by tests with a fake clock).</summary>
    public async Task CheckAllAsync(CancellationToken cancellationToken)
    {
        var timeout = TimeSpan.FromSeconds(registry.Settings.HealthTimeoutSeconds);
        await Task.WhenAll(registry.LiveBackends.Select(b => b.PingAsync(timeout, cancellationToken))).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var interval = TimeSpan.FromSeconds(registry.Settings.HealthIntervalSeconds);
            using var timer = new PeriodicTimer(interval, time);
            try
            {
                while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
                {
                    await CheckAllAsync(stoppingToken).ConfigureAwait(false);
                    if (TimeSpan.FromSeconds(registry.Settings.HealthIntervalSeconds) != interval)
                    {
                        break;
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogRoundFailed(logger, ex);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A health check round failed; the next one runs on schedule")]
    private static partial void LogRoundFailed(ILogger logger, Exception exception);
}
