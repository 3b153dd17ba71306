using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.RegularExpressions;

namespace McpMultiProxy.Catalog;

/// <summary>
/// Resource URIs are served as they are. Only when two backends list the same URI does the second one's
/// get rewritten, to <c>mcp-multiproxy://BACKEND/ESCAPED-ORIGINAL</c>, which the proxy maps back on read.
/// </summary>
public static class ResourceUris
{
    private const string Scheme = "mcp-multiproxy://";

    /// <summary>The rewritten form of <paramref name="uri"/> for <paramref name="backend"/>.</summary>
    public static string Rewrite(string backend, string uri) => $"{Scheme}{backend}/{Uri.EscapeDataString(uri)}";

    /// <summary>Reads a rewritten URI back.</summary>
    public static bool TryParseRewritten(string uri, [NotNullWhen(true)] out string? backend, [NotNullWhen(true)] out string? original)
    {
        backend = original = null;
        if (!uri.StartsWith(Scheme, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = uri.AsSpan(Scheme.Length);
        var slash = rest.IndexOf('/');
        if (slash <= 0)
        {
            return false;
        }

        backend = rest[..slash].ToString();
        original = Uri.UnescapeDataString(rest[(slash + 1)..].ToString());
        return true;
    }

    /// <summary>A regex that matches the URIs an RFC 6570 template can expand to (simple and reserved expansion).</summary>
    public static Regex TemplateMatcher(string template)
    {
        var pattern = new StringBuilder("^");
        var i = 0;
        while (i < template.Length)
        {
            var open = template.IndexOf('{', i);
            if (open < 0)
            {
                pattern.Append(Regex.Escape(template[i..]));
                break;
            }

            pattern.Append(Regex.Escape(template[i..open]));
            var close = template.IndexOf('}', open);
            if (close < 0)
            {
                pattern.Append(Regex.Escape(template[open..]));
                break;
            }

            var expression = template[(open + 1)..close];
            pattern.Append(expression.Length > 0 && expression[0] is '+' or '#' or '/' or '?' or '&' or '.' or ';' ? ".*" : "[^/?#]*");
            i = close + 1;
        }

        pattern.Append('$');
        return new Regex(pattern.ToString(), RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(50));
    }
}
