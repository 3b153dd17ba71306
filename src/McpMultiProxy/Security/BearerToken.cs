using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using McpMultiProxy.Configuration;

namespace McpMultiProxy.Security;

/// <summary>
/// The bearer token HTTP clients must send (<c>Authorization: Bearer &lt;token&gt;</c>). It lives in a file only
/// its owner can read; the proxy creates one with a random token when the file is missing, and never prints it.
/// </summary>
internal sealed class BearerToken
{
    /// <summary>Shortest token accepted from a file written by hand.</summary>
    public const int MinLength = 16;

    private const string Scheme = "Bearer ";

    // Only the hash is kept: comparing fixed-length hashes in constant time reveals neither the token nor its length.
    private readonly byte[] _hash;

    private BearerToken(string value)
    {
        Value = value;
        _hash = SHA256.HashData(Encoding.UTF8.GetBytes(value));
    }

    /// <summary>The token itself: for the secret scrubber only, never for output.</summary>
    public string Value { get; }

    /// <summary>Reads the token file, or creates it (mode 0600, in a directory only the owner may enter when new) with a random token.</summary>
    /// <param name="path">The token file.</param>
    /// <param name="created">True when the file was created now.</param>
    /// <param name="warning">A reason to worry about an existing file (readable by others), or null.</param>
    public static BearerToken LoadOrCreate(string path, out bool created, out string? warning)
    {
        warning = null;
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            created = true;
            return new BearerToken(Create(full));
        }

        created = false;
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(full) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
        {
            warning = $"the token file {full} can be read or written by other users; restrict it with: chmod 600 '{full}'";
        }

        string text;
        try
        {
            text = File.ReadAllText(full).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"--token-file {full}: cannot read it: {ex.Message}");
        }

        if (text.Length < MinLength || text.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            throw new ConfigException($"--token-file {full}: the token must be one line of at least {MinLength} characters without spaces. Delete the file to have a random one created.");
        }

        return new BearerToken(text);
    }

    /// <summary>True when <paramref name="authorization"/> is <c>Bearer &lt;this token&gt;</c> (the scheme in any case).</summary>
    public bool Matches(string? authorization)
    {
        if (authorization is null || !authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        // Hashed from spans: nothing is allocated per request (a rented buffer only for a very long header).
        var value = authorization.AsSpan(Scheme.Length).Trim();
        var length = Encoding.UTF8.GetMaxByteCount(value.Length);
        byte[]? rented = null;
        var bytes = length <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            var written = Encoding.UTF8.GetBytes(value, bytes);
            Span<byte> presented = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(bytes[..written], presented);
            return CryptographicOperations.FixedTimeEquals(presented, _hash);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented, clearArray: true);
            }
        }
    }

    private static string Create(string full)
    {
        var directory = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(directory))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(directory);
            }
            else
            {
                Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }

        var token = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            // Created with mode 0600 at once: there is no moment at which another user could read it.
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            using var stream = new FileStream(full, options);
            stream.Write(Encoding.UTF8.GetBytes(token + "\n"));
            stream.Flush(flushToDisk: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"--token-file {full}: cannot create it: {ex.Message}");
        }

        return token;
    }
}
