"""Where things live on disk, and how a cache entry becomes visible only when complete.

::

    paths     the cache root and the layout of each dataset's folder
    shared    a cache a team shares: new folders and files follow the root's group and bits
    manifest  the one manifest builder; a manifest written last marks an entry complete
    lock      one lock per dataset, across processes
    scan      walk the cache: entries and leftovers (the one place that knows datasets/)
    entries   complete entries: lookup, cache hits, newest cached version, entry_state()
    links     pull --link, recorded in the manifest
    listing   rows, a DataFrame and CacheInfo (`kagman ls`, kagman.cached, cache_info)
    lookup    `kagman path` (kagman.cached_path)
    removal   `kagman rm` (kagman.remove): lock, rename aside, delete, dangling links
    sizes     "50GB", "50GiB", "30d"
    prune     `kagman prune` (kagman.prune): which entries go
    verify    `kagman verify` (kagman.verify): rehash in parallel against the manifest

May import: :mod:`kagman.remote.refs` (refs name the folders), :mod:`kagman.ui` (the
verify progress bar), :mod:`kagman.errors`, :mod:`kagman.settings`, :mod:`kagman.fs`.
Never the network.
"""
