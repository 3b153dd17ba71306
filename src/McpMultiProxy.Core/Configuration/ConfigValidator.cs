using System.Text.RegularExpressions;

namespace McpMultiProxy.Configuration;

/// <summary>Checks configs for everything that would fail later, and says how to fix each problem.</summary>
public static partial class ConfigValidator
{
    /// <summary>Longest backend name: leaves room for tool names within the 64 characters clients accept.</summary>
    public const int MaxNameLength = 32;

    /// <summary>Problems with a backend name; empty when it is fine.</summary>
    public static IEnumerable<string> ValidateName(string? name, string separator)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            yield return "a server needs a name: letters, digits, '-' and '_', like \"files\".";
            yield break;
        }

        if (!NamePattern().IsMatch(name) || name.Length > MaxNameLength)
        {
            yield return $"server name '{name}' is not valid: use 1 to {MaxNameLength} letters, digits, '-' or '_' (it becomes the prefix of tool names).";
        }
        else if (separator.Length > 0 && name.Contains(separator, StringComparison.Ordinal))
        {
            yield return $"server name '{name}' contains the separator '{separator}', which would make tool names ambiguous; rename it.";
        }
    }

    /// <summary>Problems with one backend; empty when it is fine.</summary>
    public static IEnumerable<string> Validate(BackendConfig backend, ProxySettings settings)
    {
        foreach (var problem in ValidateName(backend.Name, settings.Separator))
        {
            yield return problem;
        }

        var name = backend.Name;
        switch (backend.Transport)
        {
            case BackendTransport.Stdio:
                if (string.IsNullOrWhiteSpace(backend.Command))
                {
                    yield return $"server '{name}' has no 'command' (the program to start) and no 'url'; give it one of them.";
                }

                if (!backend.Urls.IsDefaultOrEmpty)
                {
                    yield return $"server '{name}' has both 'command' and 'url'; a server is either a program to start or a URL, not both.";
                }

                if (!backend.Headers.IsEmpty)
                {
                    yield return $"server '{name}' is a stdio server: 'headers' only apply to HTTP servers (use 'env' for a program).";
                }

                break;
            default:
                if (backend.Command is not null)
                {
                    yield return $"server '{name}' has both 'command' and 'url'; a server is either a program to start or a URL, not both.";
                }

                if (backend.Urls.IsDefaultOrEmpty && backend.Command is null)
                {
                    yield return $"server '{name}' has no 'command' (the program to start) and no 'url'; give it one of them.";
                }
                else
                {
                    foreach (var url in backend.Urls)
                    {
                        if (ValidateUrl(url) is { } problem)
                        {
                            yield return $"server '{name}': {problem}";
                        }
                    }
                }

                if (!backend.Env.IsEmpty || !backend.Args.IsDefaultOrEmpty || backend.Cwd is not null)
                {
                    yield return $"server '{name}' is an HTTP server: 'env', 'args' and 'cwd' only apply to programs started with 'command'.";
                }

                break;
        }

        if (backend.TimeoutSeconds is <= 0)
        {
            yield return $"server '{name}': timeoutSeconds must be more than 0.";
        }
    }

    /// <summary>Problems with the proxy settings.</summary>
    public static IEnumerable<string> Validate(ProxySettings settings)
    {
        if (!SeparatorPattern().IsMatch(settings.Separator))
        {
            yield return $"proxy.separator '{settings.Separator}' is not valid: use 1 to 3 of '_', '-' or '.' (tool names allow only letters, digits, '_' and '-').";
        }

        if (settings.HealthIntervalSeconds <= 0 || settings.HealthTimeoutSeconds <= 0 || settings.CallTimeoutSeconds <= 0
            || settings.ConnectTimeoutSeconds <= 0 || settings.MaxCallTimeoutSeconds < settings.CallTimeoutSeconds)
        {
            yield return "proxy: every '...Seconds' setting must be more than 0, and maxCallTimeoutSeconds at least callTimeoutSeconds.";
        }

        foreach (var problem in Security.SecurityConfig.Validate(settings.Security))
        {
            yield return problem;
        }

        if (settings.WithdrawGraceSeconds is < 0 or > 3600 || settings.ShutdownGraceSeconds is < 0 or > 3600)
        {
            yield return "proxy: withdrawGraceSeconds and shutdownGraceSeconds must be from 0 to 3600 (0 turns the grace off).";
        }
    }

    /// <summary>A problem with an HTTP endpoint, or null when it is a usable http(s) URL.</summary>
    public static string? ValidateUrl(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || string.IsNullOrEmpty(uri.Host))
        {
            return $"'{Redaction.RedactUrl(url)}' is not a valid URL; write it as http://host:port/path or https://host/path.";
        }

        return null;
    }

    [GeneratedRegex("^[A-Za-z0-9_-]+$")]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^[_.\-]{1,3}$")]
    private static partial Regex SeparatorPattern();
}
