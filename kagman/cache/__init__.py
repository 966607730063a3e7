"""Where things live on disk, and how a cache entry becomes visible only when complete.

::

    paths     the cache root and the layout of each dataset's folder
    manifest  the one manifest builder; a manifest written last marks an entry complete
    lock      one lock per dataset, across processes
    entries   complete entries: lookup, newest cached version, listing

May import: :mod:`kagman.remote.refs` (refs name the folders), :mod:`kagman.errors`,
:mod:`kagman.settings`, :mod:`kagman.fs`. Never the network.
"""
