using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace McpMultiProxy.Memory;

/// <summary>
/// Gives memory back when the proxy goes quiet. A proxy mostly waits: after start-up (ten backends connected, the
/// catalog built) or a busy spell, the garbage collector keeps the memory it grew into committed, and the program's
/// code that ran once stays mapped. So at the first check interval with next to no allocation, and later at one that
/// follows enough allocation since the last time, one compacting collection gives free GC memory back to the system and, on Linux,
/// <see cref="ColdPages"/> unmaps clean read-only file pages. At most once a minute after the first time, so bursty
/// traffic pays for it rarely; a trim costs a few milliseconds of CPU.
/// </summary>
/// <remarks>
/// "Next to no allocation" is measured, not guessed from the protocol: an idle proxy (health pings, list snapshots
/// already built) allocates a few KB a second, any client request far more. Tested with a fake clock and a fake
/// allocation counter; the trim itself is tested on a real process.
/// </remarks>
public sealed partial class IdleTrimmer : BackgroundService
{
    /// <summary>How often the proxy checks whether it is quiet.</summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(5);

    /// <summary>The least time between two trims, after the first.</summary>
    public static readonly TimeSpan MinimumGap = TimeSpan.FromMinutes(1);

    /// <summary>At most this many bytes allocated in one check interval is quiet.</summary>
    public const long QuietBytes = 512 * 1024;

    /// <summary>At least this many bytes allocated since the last trim make another worth it (the first needs none).</summary>
    public const long WorthBytes = 8 * 1024 * 1024;

    private readonly TimeProvider _time;
    private readonly ILogger<IdleTrimmer> _logger;
    private readonly Func<long> _allocatedBytes;
    private readonly Func<long> _trim;
    private long _allocatedAtLastCheck;
    private long _allocatedAtLastTrim;
    private long? _lastTrim;
    private PeriodicTimer? _timer;
    private int _checks;
    private int _trims;

    /// <summary>The trimmer of a running proxy: real allocation counter, real trim.</summary>
    public IdleTrimmer(TimeProvider time, ILogger<IdleTrimmer> logger)
        : this(time, logger, static () => GC.GetTotalAllocatedBytes(precise: false), TrimNow)
    {
    }

    /// <summary>For tests: <paramref name="allocatedBytes"/> counts allocation, <paramref name="trim"/> trims and returns bytes released.</summary>
    internal IdleTrimmer(TimeProvider time, ILogger<IdleTrimmer> logger, Func<long> allocatedBytes, Func<long> trim)
    {
        _time = time;
        _logger = logger;
        _allocatedBytes = allocatedBytes;
        _trim = trim;
    }

    /// <summary>How many checks it has made.</summary>
    public int Checks => Volatile.Read(ref _checks);

    /// <summary>How many times it has trimmed.</summary>
    public int Trims => Volatile.Read(ref _trims);

    /// <summary>One check: trims when the last interval was quiet, enough was allocated since the last trim, and the gap allows.</summary>
    /// <returns>Whether it trimmed.</returns>
    public bool Check()
    {
        Interlocked.Increment(ref _checks);
        var allocated = _allocatedBytes();
        var quiet = allocated - _allocatedAtLastCheck <= QuietBytes;
        LogChecked(_logger, (allocated - _allocatedAtLastCheck) / 1024, (allocated - _allocatedAtLastTrim) / 1024);
        _allocatedAtLastCheck = allocated;

        // The first quiet interval after start always trims: start-up code ran once, whatever it allocated.
        if (!quiet || (_lastTrim is { } last && (allocated - _allocatedAtLastTrim < WorthBytes || _time.GetElapsedTime(last) < MinimumGap)))
        {
            return false;
        }

        // The resident set is read only for the Debug line (Environment.WorkingSet is a read of /proc on Linux).
        var logged = _logger.IsEnabled(LogLevel.Debug);
        var rssBefore = logged ? Environment.WorkingSet : 0;
        var released = _trim();
        Interlocked.Increment(ref _trims);
        _lastTrim = _time.GetTimestamp();

        // What the trim itself allocated is not the next interval's traffic.
        _allocatedAtLastTrim = _allocatedAtLastCheck = _allocatedBytes();
        if (logged)
        {
            LogTrimmed(_logger, released / 1048576.0, rssBefore / 1048576.0, Environment.WorkingSet / 1048576.0);
        }

        return true;
    }

    /// <summary>Starts the clock here, not in the background loop: the first interval is counted from start.</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _allocatedAtLastCheck = _allocatedBytes();
        _timer = new PeriodicTimer(CheckInterval, _time);
        return base.StartAsync(cancellationToken);
    }

    /// <inheritdoc/>
    public override void Dispose()
    {
        _timer?.Dispose();
        base.Dispose();
    }

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var timer = _timer ?? throw new InvalidOperationException("Not started.");
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    Check();
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
                {
                    LogTrimFailed(_logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Whether the GC heap has a hard limit (set, or implied by a container's memory limit). Under one, a test that
    /// floods the proxy near its 512 MiB limit failed with <c>OutOfMemoryException</c> in about 1 run in 7 when an
    /// aggressive collection had run during the flood, and never without it (the cause inside the GC was not found).
    /// </summary>
    internal static bool HeapHasHardLimit() =>
        GC.GetConfigurationVariables().TryGetValue("GCHeapHardLimit", out var limit) && limit is not (null or 0 or 0L or 0UL);

    /// <summary>
    /// The trim: where the GC heap has no hard limit, an aggressive compacting collection that decommits what it
    /// frees; then the clean mapped pages.
    /// </summary>
    private static long TrimNow()
    {
        if (!HeapHasHardLimit())
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }

        return ColdPages.Release();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Quiet: gave memory back (unmapped {ReleasedMiB:0.0} MiB of clean file mappings); resident {BeforeMiB:0.0} → {AfterMiB:0.0} MiB")]
    private static partial void LogTrimmed(ILogger logger, double releasedMiB, double beforeMiB, double afterMiB);

    [LoggerMessage(Level = LogLevel.Trace, Message = "Memory check: {IntervalKiB} KiB allocated in the last interval, {SinceTrimKiB} KiB since the last trim")]
    private static partial void LogChecked(ILogger logger, long intervalKiB, long sinceTrimKiB);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not give memory back; the proxy goes on as it is")]
    private static partial void LogTrimFailed(ILogger logger, Exception exception);
}
