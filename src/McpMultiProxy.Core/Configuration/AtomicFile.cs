using System.Text;

namespace McpMultiProxy.Configuration;

/// <summary>Writes files that must never be seen half-written (the config file, the tool pins).</summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="text"/> so that a crash at any moment leaves either the old or the new file, never half
    /// of one: a temporary file beside it, flushed to disk, then renamed over the original (keeping its mode; a new file is created readable by its owner only).
    /// </summary>
    public static void Write(string path, string text)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                // A new file may hold secrets (headers, env): only its owner reads it. An existing file keeps its mode.
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var stream = new FileStream(temp, options))
            {
                stream.Write(Encoding.UTF8.GetBytes(text));
                stream.Flush(flushToDisk: true);
            }

            if (File.Exists(full) && !OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temp, File.GetUnixFileMode(full));
            }

            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }
}
