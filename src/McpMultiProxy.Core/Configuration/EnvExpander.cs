using System.Text.RegularExpressions;

namespace McpMultiProxy.Configuration;

/// <summary>Expands <c>${env:NAME}</c> in config values at connect time, so secrets stay out of the file.</summary>
public static partial class EnvExpander
{
    /// <summary>Expands every <c>${env:NAME}</c>; throws <see cref="ConfigException"/> naming the variable when one is unset.</summary>
    public static string Expand(string value, string where, Func<string, string?>? lookup = null)
    {
        if (!value.Contains("${", StringComparison.Ordinal))
        {
            return value;
        }

        lookup ??= Environment.GetEnvironmentVariable;
        return Placeholder().Replace(value, m =>
        {
            var name = m.Groups[1].Value;
            return lookup(name) ?? throw new ConfigException(
                $"{where} uses ${{env:{name}}} but the environment variable {name} is not set. Set it before starting the proxy, or change the value.");
        });
    }

    /// <summary>Expands every value of a dictionary.</summary>
    public static Dictionary<string, string> ExpandAll(IReadOnlyDictionary<string, string> values, string where, Func<string, string?>? lookup = null) =>
        values.ToDictionary(kv => kv.Key, kv => Expand(kv.Value, $"{where} '{kv.Key}'", lookup));

    [GeneratedRegex(@"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex Placeholder();
}

/// <summary>A configuration problem, with a message that says what is wrong and how to fix it.</summary>
public sealed class ConfigException : Exception
{
    /// <summary>Creates the exception with one or more error lines.</summary>
    public ConfigException(string message)
        : base(message)
    {
        Errors = [message];
    }

    /// <summary>Creates the exception listing every error found.</summary>
    public ConfigException(IReadOnlyList<string> errors)
        : base(string.Join(Environment.NewLine, errors))
    {
        Errors = errors;
    }

    /// <summary>Creates an empty exception.</summary>
    public ConfigException()
        : this("invalid configuration")
    {
    }

    /// <summary>Creates the exception with an inner exception.</summary>
    public ConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [message];
    }

    /// <summary>Every error found, one per line.</summary>
    public IReadOnlyList<string> Errors { get; } = [];
}
