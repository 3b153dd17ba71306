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

    /// <summary>
    /// Command arguments as shown to people: the value of a flag that names a secret (<c>--api-key X</c>,
    /// <c>--token=X</c>, <c>PASSWORD=X</c>), a value that looks like a well-known token format, and the secret
    /// parts of URLs are masked. A heuristic on top of the rule that matters: put secrets in <c>env</c>.
    /// </summary>
    public static IEnumerable<string> RedactArgs(IEnumerable<string> args)
    {
        var maskNext = false;
        foreach (var arg in args)
        {
            if (maskNext && !arg.StartsWith('-'))
            {
                maskNext = false;
                yield return Mask;
                continue;
            }

            maskNext = false;
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0 && SecretName().IsMatch(arg[..equals].TrimStart('-')))
            {
                yield return arg[..(equals + 1)] + Mask;
            }
            else if (arg.StartsWith('-') && SecretName().IsMatch(arg.TrimStart('-')))
            {
                maskNext = true;
                yield return arg;
            }
            else if (TokenLike().IsMatch(arg))
            {
                yield return Mask;
            }
            else
            {
                yield return arg.Contains("://", StringComparison.Ordinal) ? RedactUrl(arg) : arg;
            }
        }
    }

    /// <summary>
    /// JSON text (a logged protocol message) with the values of <c>headers</c> and <c>env</c> objects, and of keys that
    /// name a secret (<c>authorization</c>, <c>token</c>, <c>password</c>, <c>apiKey</c>, ...), masked. For log lines:
    /// a client's <c>manage add</c> carries secrets the proxy cannot know yet when the SDK logs the message.
    /// </summary>
    public static string RedactJson(string text)
    {
        if (!text.Contains("\":", StringComparison.Ordinal))
        {
            return text;
        }

        text = SecretObject().Replace(text, m => m.Groups[1].Value + JsonStringValue().Replace(m.Groups[2].Value, v => v.Groups[1].Value + "\"" + Mask + "\""));
        return SecretKeyValue().Replace(text, m => m.Groups[1].Value + "\"" + Mask + "\"");
    }

    /// <summary>A dictionary of secrets shown by key only.</summary>
    public static IReadOnlyDictionary<string, string> RedactValues(IReadOnlyDictionary<string, string> values) =>
        values.ToDictionary(kv => kv.Key, _ => Mask);

    [GeneratedRegex("=[^&]*")]
    private static partial Regex QueryValue();

    // "headers": { ... } or "env": { ... } (flat objects of strings, as in manage add and config).
    [GeneratedRegex("(\"(?:headers|env|additionalHeaders|environmentVariables)\"\\s*:\\s*)(\\{[^{}]*\\})", RegexOptions.IgnoreCase)]
    private static partial Regex SecretObject();

    // "key": "value" inside such an object.
    [GeneratedRegex("(\"(?:[^\"\\\\]|\\\\.)*\"\\s*:\\s*)\"(?:[^\"\\\\]|\\\\.)*\"")]
    private static partial Regex JsonStringValue();

    // "authorization": "...", "api_key": "...", "password": "..." anywhere.
    [GeneratedRegex("(\"[^\"]*(?:authorization|token|secret|password|passwd|api[-_]?key|access[-_]?key|private[-_]?key|credential|cookie)[^\"]*\"\\s*:\\s*)\"(?:[^\"\\\\]|\\\\.)*\"", RegexOptions.IgnoreCase)]
    private static partial Regex SecretKeyValue();

    [GeneratedRegex(@"(token|secret|password|passwd|pwd|api[-_]?key|access[-_]?key|private[-_]?key|credential|bearer|cookie|authorization|(^|[-_])key$|(^|[-_])auth$)", RegexOptions.IgnoreCase)]
    private static partial Regex SecretName();

    // Well-known token formats (OpenAI/Anthropic, GitHub, GitLab, Slack, AWS access keys).
    [GeneratedRegex(@"^(sk-|ghp_|gho_|ghu_|ghs_|github_pat_|glpat-|xox[abpr]-|AKIA)[A-Za-z0-9_\-]{8,}$")]
    private static partial Regex TokenLike();
}
