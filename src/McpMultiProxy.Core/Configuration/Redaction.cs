using System.Text.RegularExpressions;

namespace McpMultiProxy.Configuration;

/// <summary>Keeps secrets out of everything a person or a log sees.</summary>
public static partial class Redaction
{
    /// <summary>What a secret is shown as.</summary>
    public const string Mask = "***";

    /// <summary>A URL with any user info and query values masked.</summary>
    public static string RedactUrl(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return url;
        }

        if (string.IsNullOrEmpty(uri.UserInfo) && string.IsNullOrEmpty(uri.Query))
        {
            return url;
        }

        var builder = new UriBuilder(uri);
        if (!string.IsNullOrEmpty(builder.UserName) || !string.IsNullOrEmpty(builder.Password))
        {
            builder.UserName = Mask;
            builder.Password = "";
        }

        if (builder.Query.Length > 1)
        {
            builder.Query = QueryValue().Replace(builder.Query.TrimStart('?'), "=" + Mask);
        }

        return builder.Uri.IsDefaultPort ? builder.Uri.GetComponents(UriComponents.AbsoluteUri & ~UriComponents.Port, UriFormat.UriEscaped) : builder.Uri.AbsoluteUri;
    }

    /// <summary>A dictionary of secrets shown by key only.</summary>
    public static IReadOnlyDictionary<string, string> RedactValues(IReadOnlyDictionary<string, string> values) =>
        values.ToDictionary(kv => kv.Key, _ => Mask);

    [GeneratedRegex("=[^&]*")]
    private static partial Regex QueryValue();
}
