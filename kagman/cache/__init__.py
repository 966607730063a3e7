"""Where things live on disk, and how a cache entry becomes visible only when complete.

::

    paths     the cache root and the layout of each dataset's and competition's folder
    shared    a cache a team shares: new folders and files follow the root's group and bits
    selection which files a pull wants (--file, --include/--exclude), as subsets record it
    manifest  the one manifest builder; a manifest written last marks an entry complete
    lock      one lock per dataset (or competition), across processes
    scan      walk the cache: entries and leftovers (the one place that knows datasets/ and
              competitions/)
    entries   entry_state() (complete, subset, incomplete), what an entry answers, cache hits
    links     pull --link, recorded in the manifest
    listing   one row per entry and leftover, datasets and competitions alike
    info      CacheInfo and the DataFrame (`kagman ls`, kagman.cached, kagman.cache_info)
    lookup    `kagman path` (kagman.cached_path)
    removal   `kagman rm` (kagman.remove): lock, rename aside, delete, dangling links
    sizes     "50GB", "50GiB", "30d", and sizes on disk
    prune     `kagman prune` (kagman.prune): which entries go
    verify    `kagman verify` (kagman.verify): rehash in parallel against the manifest

May import: :mod:`kagman.remote.refs` (refs name the folders), :mod:`kagman.ui` (the
verify progress bar), :mod:`kagman.errors`, :mod:`kagman.settings`, :mod:`kagman.fs`.
Never the network.
"""
