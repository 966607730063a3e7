"""Safe, fast extraction of downloaded zip archives.

::

    junk       OS and tool clutter (one list, shared with the image index)
    zipformat  the end records and the central directory, read from the archive's last bytes
    failures   the errors, worded with the next step
    members    the files to write, as compact parallel arrays (~60 bytes a member)
    plan       every check that needs no data, in one pass, before the first byte is written
    inflate    raw deflate and CRC-32: ISA-L when installed, else zlib
    writer     checked members into files, in batches of neighbours
    workers    which process writes which batch: fork, forkserver or spawn, chosen safely
    fallback   bzip2/lzma members through zipfile
    report     what was written, read from the plan's table (no second copy)
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
from kagman.archive.report import ExtractedFile

__all__ = ["ExtractLimits", "ExtractReport", "ExtractedFile", "extract_zip", "is_zip"]
