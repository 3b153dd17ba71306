namespace McpMultiProxy.Catalog;

/// <summary>
/// Holds the current catalog snapshot and tells listeners which lists really changed when a new one is published.
/// </summary>
public sealed class ProxyCatalog
{
    private const int KeptForPaging = 64;
    private readonly Lock _publishLock = new();
    private readonly Queue<CatalogSnapshot> _recent = new();
    private volatile CatalogSnapshot _current = CatalogSnapshot.Empty;
    private long _version;

    /// <summary>Raised after a publish that changed at least one list, with the lists that changed.</summary>
    public event Action<Backends.ListKinds>? Changed;

    /// <summary>The snapshot in force now.</summary>
    public CatalogSnapshot Current => _current;

    /// <summary>
    /// The snapshot a cursor was issued from (for no cursor, the one in force): recent snapshots are kept so that
    /// paging that started before a change can finish on the list it started with.
    /// </summary>
    public CatalogSnapshot ForCursor(string? cursor)
    {
        var current = _current;
        if (cursor is null)
        {
            return current;
        }

        var (version, _) = CatalogSnapshot.ParseCursor(cursor);
        if (current.Version == version)
        {
            // The snapshot in force (after a rebuild that changed no list it shares the version of the kept one).
            return current;
        }

        lock (_publishLock)
        {
            return _recent.FirstOrDefault(s => s.Version == version)
                ?? throw new ModelContextProtocol.McpProtocolException("Invalid cursor: it has expired because the list changed many times since; list again from the start.", ModelContextProtocol.McpErrorCode.InvalidParams);
        }
    }

    /// <summary>Swaps in <paramref name="next"/>; raises <see cref="Changed"/> only for lists whose content differs.</summary>
    public void Publish(CatalogSnapshot next)
    {
        Backends.ListKinds changed;
        lock (_publishLock)
        {
            var old = _current.Fingerprint;
            var now = next.Fingerprint;
            changed = (old.Tools != now.Tools ? Backends.ListKinds.Tools : 0)
                | (old.Prompts != now.Prompts ? Backends.ListKinds.Prompts : 0)
                | (old.Resources != now.Resources ? Backends.ListKinds.Resources : 0);
            if (changed == Backends.ListKinds.None && _recent.Count > 0)
            {
                // Same lists (a backend's state changed, or a rebuild that found nothing new): the snapshot kept for
                // this version pages exactly like the new one, so cursors already issued stay valid. A burst of
                // rebuilds (fifty backends coming up) then does not expire a client's paging.
                next.Version = _current.Version;
            }
            else
            {
                next.Version = ++_version;
                _recent.Enqueue(next);
                if (_recent.Count > KeptForPaging)
                {
                    _recent.Dequeue();
                }
            }

            var previous = _current;
            _current = next;
            previous.StopKeepingPages();
        }

        if (changed != Backends.ListKinds.None)
        {
            Changed?.Invoke(changed);
        }
    }
}
