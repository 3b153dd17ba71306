using System.Security.Cryptography;
using System.Text;

namespace McpMultiProxy.Catalog;

/// <summary>
/// Makes served names: <c>backend__tool</c> by default, only <c>[A-Za-z0-9_-]</c>, at most 64 characters.
/// A name that would be longer is cut and given a short hash of the full name, so it stays unique and
/// never depends on what other backends exist.
/// </summary>
public static class NameMapper
{
    /// <summary>Longest name clients accept.</summary>
    public const int MaxLength = 64;

    /// <summary>The served name for <paramref name="name"/> of <paramref name="backend"/> (prefixed when <paramref name="prefixed"/>).</summary>
    public static string Serve(string backend, string name, string separator, bool prefixed)
    {
        var full = prefixed ? backend + separator + name : name;
        return Sanitize(full);
    }

    /// <summary>Replaces characters clients refuse and shortens over-long names deterministically.</summary>
    public static string Sanitize(string name)
    {
        var valid = true;
        foreach (var c in name)
        {
            if (!IsAllowed(c))
            {
                valid = false;
                break;
            }
        }

        if (valid && name.Length <= MaxLength && name.Length > 0)
        {
            return name;
        }

        var builder = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            builder.Append(IsAllowed(c) ? c : '_');
        }

        var clean = builder.Length == 0 ? "_" : builder.ToString();
        if (clean.Length <= MaxLength && valid)
        {
            return clean;
        }

        // Changed or cut: add a hash of the original so two different names never meet.
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)).AsSpan(0, 4));
        var keep = Math.Min(clean.Length, MaxLength - hash.Length - 1);
        return $"{clean[..keep]}_{hash}";
    }

    private static bool IsAllowed(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '-';
}
