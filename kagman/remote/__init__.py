"""Talking to Kaggle: refs, the only wrapper of kagglesdk, the retry loop, resumable transfer.

::

    refs          DatasetRef, CompetitionRef, every pasted URL: validated before any request
    names         a --file name (a Path too, as POSIX) and --include/--exclude patterns
    retry         the one retry loop (API calls and downloads), backoff and Retry-After
    client        the one place that builds kagglesdk's client and translates its errors
    datasets      GetDataset, ListDatasetFiles (paged), DownloadDataset
    competitions  GetCompetition, ListDataFiles (paged), DownloadDataFiles, DownloadDataFile
    hosts         which host failed (API or storage) and why, without urllib3's internals
    integrity     x-goog-hash MD5 and Content-Range: does what arrived match what was declared
    partial       the partial file and its record (a prefix, or parts); writing bodies into it
    answers       one storage answer judged: statuses retried, 206 checked, give-up messages
    single        one connection: resume the prefix, hash while writing
    parts         how a parallel download cuts what it misses into parts; the watermark
    parallel      parts over several connections, each resumable, all under one ETag
    transfer      download_to(): one attempt after another, in parts or on one connection

May import: :mod:`kagman.credentials`, :mod:`kagman.errors`, :mod:`kagman.settings`,
:mod:`kagman.fs`. Never the cache, the archive code or anything above them.
"""
