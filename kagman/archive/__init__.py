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
    forked     forked workers and their pipes
    arrival    an archive still downloading: read its end first, wait for each batch's bytes
    fallback   bzip2/lzma members through zipfile
    report     what was written, read from the plan's table (no second copy)
    extract    extract_zip(): the order of the steps, limits and the report

The steps are separable, so that an archive is extracted while it downloads
(:class:`~kagman.archive.arrival.Arrival`): :func:`~kagman.archive.plan.plan` needs only
a reader of the archive's last bytes (a suffix ``Range`` request:
:func:`~kagman.archive.zipformat.locate_central` says where the central directory
starts), and each :class:`~kagman.archive.members.Batch` of
:func:`~kagman.archive.writer.plan_batches` reads only its ``[begin, end)`` bytes, so
:func:`~kagman.archive.writer.write_batch` writes it once those are on disk.

May import: :mod:`kagman.errors`, :mod:`kagman.settings`, :mod:`kagman.fs`. Knows nothing
of Kaggle, refs or the cache: it turns a zip file into a folder.
"""

from kagman.archive.extract import (
    Arrival,
    ExtractLimits,
    ExtractReport,
    extract_zip,
    is_zip,
)
from kagman.archive.report import ExtractedFile

__all__ = ["Arrival", "ExtractLimits", "ExtractReport", "ExtractedFile", "extract_zip", "is_zip"]
