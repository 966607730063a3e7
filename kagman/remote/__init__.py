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
    partial       the partial file and its record; appending an answer's body to it
    transfer      resumable, verified download of one blob with Range and If-Range

May import: :mod:`kagman.credentials`, :mod:`kagman.errors`, :mod:`kagman.settings`,
:mod:`kagman.fs`. Never the cache, the archive code or anything above them.
"""
