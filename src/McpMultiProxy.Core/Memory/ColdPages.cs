using System.Globalization;
using System.Runtime.InteropServices;

namespace McpMultiProxy.Memory;

/// <summary>
/// Unmaps the clean, read-only pages of files this process has mapped (the program's code and read-only data, its
/// libraries'): after start-up nearly all of a NativeAOT binary is resident (the kernel maps pages around each one
/// touched), most of it code that ran once. The pages stay in the page cache and fault back in when next used, so
/// nothing is lost but the mapping; only mappings with no privately modified page are touched (Linux only).
/// </summary>
public static partial class ColdPages
{
    private const int MadvDontNeed = 4;

    /// <summary>Unmaps them; returns how many bytes of mappings were released (0 where this is not Linux).</summary>
    public static long Release()
    {
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }

        long released = 0;
        foreach (var (start, length) in CleanReadOnlyFileMappings(File.ReadLines("/proc/self/smaps")))
        {
            if (madvise((nint)start, (nuint)length, MadvDontNeed) == 0)
            {
                released += length;
            }
        }

        return released;
    }

    /// <summary>
    /// From <c>/proc/self/smaps</c> text: the mappings of regular files that are not writable and hold no anonymous
    /// (privately modified) page, such as a relocated read-only data segment. Not devices, not the kernel's own, not
    /// shared memory (<c>/memfd:</c>, where the JIT keeps code: unmapping frees nothing there), and not managed
    /// assemblies (<c>.dll</c>, in a JIT-compiled run): the runtime maps an assembly read-only and then makes pages
    /// writable to relocate them, so one that is loading could lose its relocations. The dynamic linker relocates a
    /// library's segments while they are still mapped writable, so a library's read-only mapping is final.
    /// </summary>
    internal static IEnumerable<(long Start, long Length)> CleanReadOnlyFileMappings(IEnumerable<string> smaps)
    {
        (long Start, long Length)? candidate = null;
        foreach (var line in smaps)
        {
            var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 5 && fields[0].Contains('-', StringComparison.Ordinal) && fields[1].Length == 4)
            {
                // A mapping's header: "start-end perms offset dev inode [path]".
                var path = fields.Length == 6 ? fields[5].Trim() : "";
                var range = fields[0].Split('-');
                candidate = fields[1][1] == '-' && path.StartsWith('/')
                    && !path.StartsWith("/dev/", StringComparison.Ordinal) && !path.StartsWith("/memfd:", StringComparison.Ordinal)
                    && !path.Replace(" (deleted)", "", StringComparison.Ordinal).EndsWith(".dll", StringComparison.OrdinalIgnoreCase)
                    && long.TryParse(range[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var start)
                    && long.TryParse(range[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var end) && end > start
                        ? (start, end - start)
                        : null;
            }
            else if (candidate is { } mapping && fields.Length >= 2 && fields[0] == "Anonymous:")
            {
                if (fields[1] == "0")
                {
                    yield return mapping;
                }

                candidate = null;
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int madvise(nint address, nuint length, int advice);
}
