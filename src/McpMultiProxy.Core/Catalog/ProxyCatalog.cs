namespace McpMultiProxy.Catalog;

/// <summary>
/// Holds the current catalog snapshot and tells listeners which lists really changed when a new one is published.
/// </summary>
public sealed class ProxyCatalog
{
    private readonly Lock _publishLock = new();
    private volatile CatalogSnapshot _current = CatalogSnapshot.Empty;

    /// <summary>Raised after a publish that changed at least one list, with the lists that changed.</summary>
    public event Action<Backends.ListKinds>? Changed;

    /// <summary>The snapshot in force now.</summary>
    public CatalogSnapshot Current => _current;

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
            _current = next;
        }

        if (changed != Backends.ListKinds.None)
        {
            Changed?.Invoke(changed);
        }
    }
}
