"""Talking to Kaggle: refs, the only wrapper of kagglesdk, the retry loop, resumable transfer.

::

    refs      DatasetRef and parse_ref: validated before any network call
    retry     the one retry loop (API calls and downloads), backoff and Retry-After
    client    the only module that imports kagglesdk; Kaggle's errors become kagman's
    transfer  resumable download of one blob with Range and If-Range

May import: :mod:`kagman.credentials`, :mod:`kagman.errors`, :mod:`kagman.settings`,
:mod:`kagman.fs`. Never the cache, the archive code or anything above them.
"""
