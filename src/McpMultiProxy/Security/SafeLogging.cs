using System.Collections;
using McpMultiProxy.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpMultiProxy.Security;

/// <summary>
/// Wraps every logger provider so that no log line, at any level and from any source (ours, the SDK's Trace
/// logging of process arguments and messages, ASP.NET Core, HttpClient), carries a known secret value, and no
/// line is longer than <see cref="MaxLineLength"/>: the SDK puts client-chosen text (a method name, a whole
/// message) into its warnings, and the console logger queues lines in memory, so a hostile client could
/// otherwise fill both the disk and the heap with one big request.
/// </summary>
internal static class SafeLogging
{
    /// <summary>Longest log line kept; the rest is replaced by a note of how much was left out.</summary>
    public const int MaxLineLength = 32 * 1024;

    /// <summary>Decorates every <see cref="ILoggerProvider"/> registered so far. Call after all providers are added.</summary>
    public static ILoggingBuilder AddSafeLogging(this ILoggingBuilder logging)
    {
        var services = logging.Services;
        for (var i = 0; i < services.Count; i++)
        {
            var descriptor = services[i];
            if (descriptor.ServiceType != typeof(ILoggerProvider) || descriptor.IsKeyedService)
            {
                continue;
            }

            services[i] = ServiceDescriptor.Singleton<ILoggerProvider>(sp =>
                new ScrubbingLoggerProvider(Create(sp, descriptor), sp.GetRequiredService<SecretValues>()));
        }

        return logging;
    }

    /// <summary>
    /// Scrubs known secrets from the message of every JSON-RPC error the proxy sends to a client: errors are built
    /// from exception texts (an upstream's error, a connect failure), which are not ours to vet one by one.
    /// </summary>
    public static void ScrubOutgoingErrors(McpServerOptions options, SecretValues secrets) =>
        options.Filters.Message.OutgoingFilters.Add(next => (context, cancellationToken) =>
        {
            if (context.JsonRpcMessage is JsonRpcError { Error: { } error })
            {
                error.Message = secrets.Scrub(error.Message);
            }

            return next(context, cancellationToken);
        });

    private static ILoggerProvider Create(IServiceProvider services, ServiceDescriptor descriptor) =>
        (ILoggerProvider)(descriptor.ImplementationInstance
            ?? descriptor.ImplementationFactory?.Invoke(services)
            ?? ActivatorUtilities.CreateInstance(services, descriptor.ImplementationType!));

    private sealed class ScrubbingLoggerProvider(ILoggerProvider inner, SecretValues secrets) : ILoggerProvider, ISupportExternalScope
    {
        public ILogger CreateLogger(string categoryName) => new ScrubbingLogger(inner.CreateLogger(categoryName), secrets);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider)
        {
            if (inner is ISupportExternalScope scoped)
            {
                scoped.SetScopeProvider(scopeProvider);
            }
        }

        public void Dispose() => inner.Dispose();
    }

    private sealed class ScrubbingLogger(ILogger inner, SecretValues secrets) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!inner.IsEnabled(logLevel))
            {
                return;
            }

            var message = formatter(state, exception);
            var scrubbed = Scrub(message);
            var exceptionText = exception?.ToString();
            var scrubbedException = exceptionText is null ? null : Scrub(exceptionText);
            if (ReferenceEquals(scrubbed, message) && ReferenceEquals(scrubbedException, exceptionText))
            {
                // The common case keeps the original state (and its structured values) untouched; the text is
                // already formatted, so the inner logger gets it rather than formatting it a second time.
                inner.Log(logLevel, eventId, state, exception, (_, _) => message);
                return;
            }

            // The exception is folded into the text: its message and stack may carry the secret too.
            var text = new ScrubbedState(scrubbedException is null ? scrubbed : scrubbed + Environment.NewLine + scrubbedException);
            inner.Log(logLevel, eventId, text, null, static (s, _) => s.Text);
        }

        /// <summary>Capped in length; known secret values and secret-looking JSON values (in protocol messages logged at Trace) masked.</summary>
        private string Scrub(string text)
        {
            var capped = text.Length <= MaxLineLength ? text : string.Concat(text.AsSpan(0, MaxLineLength), $"… ({text.Length - MaxLineLength} more characters not logged)");
            var redacted = Redaction.RedactJson(capped);
            return secrets.Scrub(redacted); // the same string when no secret is in it
        }
    }

    /// <summary>A log state whose only value is the scrubbed text.</summary>
    private sealed class ScrubbedState(string text) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public string Text => text;

        public int Count => 1;

        public KeyValuePair<string, object?> this[int index] => index == 0 ? new("{OriginalFormat}", text) : throw new ArgumentOutOfRangeException(nameof(index));

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            yield return this[0];
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => text;
    }
}
