using McpMultiProxy.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace McpMultiProxy.Hosting;

/// <summary>
/// Exports the proxy's meter and activity source with the OpenTelemetry SDK: Prometheus at <c>/metrics</c> when
/// HTTP is served, and OTLP only when the standard <c>OTEL_*</c> variables ask for it (an endpoint is set, the
/// SDK is not disabled, the signal's exporter is not <c>none</c>); the exporter reads the rest (protocol, headers,
/// timeouts) from the same variables. With nothing configured, nothing listens to the activity source, so
/// proxied calls create no spans at all.
/// </summary>
internal static class Observability
{
    public static void AddProxyObservability(this IServiceCollection services, bool prometheus)
    {
        var otlpMetrics = OtlpRequested("METRICS");
        var otlpTraces = OtlpRequested("TRACES");
        if (!prometheus && !otlpMetrics && !otlpTraces)
        {
            return;
        }

        var otel = services.AddOpenTelemetry().ConfigureResource(r => r.AddService(
            Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME") is { Length: > 0 } name ? name : ProxyInfo.Name,
            serviceVersion: ProxyInfo.Version));
        if (prometheus || otlpMetrics)
        {
            otel.WithMetrics(metrics =>
            {
                metrics.AddMeter(ProxyTelemetry.Name);
                if (prometheus)
                {
                    // No response cache: a scrape right after a call sees it.
                    metrics.AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0);
                }

                if (otlpMetrics)
                {
                    metrics.AddOtlpExporter();
                }
            });
        }

        if (otlpTraces)
        {
            otel.WithTracing(tracing => tracing.AddSource(ProxyTelemetry.Name).AddOtlpExporter());
        }
    }

    /// <summary>True when the OTEL_* variables ask for OTLP export of <paramref name="signal"/> (METRICS, TRACES).</summary>
    internal static bool OtlpRequested(string signal)
    {
        if (string.Equals(Environment.GetEnvironmentVariable("OTEL_SDK_DISABLED"), "true", StringComparison.OrdinalIgnoreCase)
            || string.Equals(Environment.GetEnvironmentVariable($"OTEL_{signal}_EXPORTER"), "none", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"))
            || !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable($"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"));
    }
}
