using System.Text.Encodings.Web;
using McpMultiProxy.Configuration;

namespace McpMultiProxy.Security;

/// <summary>
/// Every secret value the proxy knows (env and header values as expanded at connect time, URL passwords and
/// query values, secret-looking arguments, the front door's token), so that anything about to be shown to a
/// person (a log line at any level, including the SDK's and the framework's own, a status, an error) can be
/// scrubbed of them. This is the second line of defence: the first is never putting a secret into a message.
/// </summary>
public sealed class SecretValues
{
    /// <summary>Values shorter than this are not scrubbed: they would mask ordinary words.</summary>
    public const int MinLength = 6;

    private readonly Lock _lock = new();
    private readonly HashSet<string> _fixed = new(StringComparer.Ordinal);
    private HashSet<string> _fromConfig = new(StringComparer.Ordinal);
    private ProxyConfig? _source;
    private volatile string[] _values = [];

    /// <summary>The values scrubbed now, longest first.</summary>
    public IReadOnlyList<string> Values => _values;

    /// <summary>Adds a secret that is not in the config (the front door's bearer token).</summary>
    public void Add(string value)
    {
        lock (_lock)
        {
            foreach (var form in Forms(value))
            {
                _fixed.Add(form);
            }

            Publish();
        }
    }

    /// <summary>Replaces the secrets taken from the config with those of <paramref name="config"/>.</summary>
    /// <param name="config">The configuration in force.</param>
    /// <param name="lookup">Environment lookup for <c>${env:NAME}</c> (default: the process environment).</param>
    public void UpdateFrom(ProxyConfig config, Func<string, string?>? lookup = null)
    {
        // Configs are immutable: the same instance has the same secrets.
        if (ReferenceEquals(Volatile.Read(ref _source), config))
        {
            return;
        }

        var found = new HashSet<string>(StringComparer.Ordinal);
        foreach (var server in config.Servers)
        {
            Collect(server, found, lookup);
        }

        lock (_lock)
        {
            _fromConfig = found;
            _source = config;
            Publish();
        }
    }

    /// <summary>Adds the secrets of a backend about to be added, before it starts and can log anything.</summary>
    public void Include(BackendConfig server, Func<string, string?>? lookup = null)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        Collect(server, found, lookup);
        lock (_lock)
        {
            _fixed.UnionWith(found);
            Publish();
        }
    }

    private static void Collect(BackendConfig server, HashSet<string> found, Func<string, string?>? lookup)
    {
        foreach (var value in server.Env.Values.Concat(server.Headers.Values))
        {
            AddConfigured(found, value, lookup);
        }

        foreach (var url in server.Urls)
        {
            AddUrlSecrets(found, url);
        }

        var args = server.Args.IsDefault ? [] : server.Args;
        var shown = Redaction.RedactArgs(args).ToList();
        for (var i = 0; i < args.Length; i++)
        {
            if (shown[i] == Redaction.Mask)
            {
                AddForms(found, args[i]);
            }
            else if (shown[i].EndsWith("=" + Redaction.Mask, StringComparison.Ordinal) && args[i].IndexOf('=', StringComparison.Ordinal) is var eq and > 0)
            {
                AddForms(found, args[i][(eq + 1)..]);
            }
            else if (shown[i] != args[i])
            {
                AddUrlSecrets(found, args[i]);
            }
        }
    }

    /// <summary><paramref name="text"/> with every known secret replaced by <see cref="Redaction.Mask"/>.</summary>
    public string Scrub(string text)
    {
        var values = _values;
        if (values.Length == 0 || string.IsNullOrEmpty(text))
        {
            return text;
        }

        foreach (var value in values)
        {
            if (text.Contains(value, StringComparison.Ordinal))
            {
                text = text.Replace(value, Redaction.Mask, StringComparison.Ordinal);
            }
        }

        return text;
    }

    /// <summary>True when <paramref name="text"/> contains a known secret.</summary>
    public bool Contains(string text)
    {
        foreach (var value in _values)
        {
            if (text.Contains(value, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static void AddConfigured(HashSet<string> found, string value, Func<string, string?>? lookup)
    {
        string expanded;
        try
        {
            expanded = EnvExpander.Expand(value, "secret", lookup);
        }
        catch (ConfigException)
        {
            // An unset variable: the backend cannot start, and there is no value to hide.
            return;
        }

        AddForms(found, expanded);

        // "Bearer abc": the credential alone may be echoed too (e.g. in an upstream error).
        var space = expanded.IndexOf(' ', StringComparison.Ordinal);
        if (space > 0)
        {
            AddForms(found, expanded[(space + 1)..].Trim());
        }
    }

    private static void AddUrlSecrets(HashSet<string> found, string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return;
        }

        var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            AddForms(found, uri.UserInfo[(colon + 1)..]);
            AddForms(found, Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]));
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                AddForms(found, pair[(eq + 1)..]);
                AddForms(found, Uri.UnescapeDataString(pair[(eq + 1)..].Replace('+', ' ')));
            }
        }
    }

    private static void AddForms(HashSet<string> found, string value)
    {
        foreach (var form in Forms(value))
        {
            found.Add(form);
        }
    }

    /// <summary>The value as written, and as it appears inside JSON or a URL when that differs.</summary>
    private static IEnumerable<string> Forms(string value)
    {
        if (value.Length < MinLength)
        {
            yield break;
        }

        yield return value;
        var json = JavaScriptEncoder.UnsafeRelaxedJsonEscaping.Encode(value);
        if (json != value)
        {
            yield return json;
        }

        var escaped = Uri.EscapeDataString(value);
        if (escaped != value)
        {
            yield return escaped;
        }
    }

    private void Publish() =>
        _values = [.. _fixed.Concat(_fromConfig).Distinct(StringComparer.Ordinal).OrderByDescending(v => v.Length)];
}
