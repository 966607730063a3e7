"""Safe, fast extraction of downloaded zip archives.

::

    junk       OS and tool clutter (one list, shared with the image index)
    zipformat  the central directory, read with one pread
    failures   the errors, worded with the next step
    plan       every check that needs no data, before the first byte is written
    writer     checked members into files, in batches
    workers    which process writes which batch: fork, forkserver or spawn, chosen safely
    fallback   bzip2/lzma members through zipfile
    extract    extract_zip(): the order of the steps, limits and the report

May import: :mod:`kagman.errors`, :mod:`kagman.settings`, :mod:`kagman.fs`. Knows nothing
of Kaggle, refs or the cache: it turns a zip file into a folder.
"""

from kagman.archive.extract import (
    ExtractLimits,
    ExtractReport,
    extract_zip,
    is_zip,
)

__all__ = ["ExtractLimits", "ExtractReport", "extract_zip", "is_zip"]
