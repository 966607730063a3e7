"""Safe, fast extraction of a downloaded dataset zip.

Safe: every member is checked before the first byte is written: no absolute
paths, drive letters, ``..``, NUL bytes, links, special files or clashing
names. macOS/Windows clutter is skipped and counted. Zip bombs are refused
twice: from the sizes the central directory declares, and again while
inflating, because headers can lie. Nothing is ever written outside ``dest``.

Fast: ``zipfile.extractall`` spends ~130 us per member; this spends ~30 us, a
third of it in the kernel creating the file. See :mod:`kagman.archive.writer` for how,
and ``benchmarks/bench_extract.py`` for the numbers against ``unzip -q``.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from kagman.archive.arrival import Arrival, started
from kagman.archive.failures import os_error
from kagman.archive.fallback import extract_fallback
from kagman.archive.forked import Preforked
from kagman.archive.plan import FALLBACK_METHODS, ExtractLimits, check_lengths, plan
from kagman.archive.report import ExtractedFiles, ExtractReport
from kagman.archive.workers import StartMethod, run, settled
from kagman.archive.workers import start_method as default_start_method
from kagman.archive.writer import Progress, plan_batches
from kagman.archive.zipformat import file_reader, locate_central
from kagman.fs import ensure_free_space

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "Arrival",
    "ExtractLimits",
    "ExtractReport",
    "extract_zip",
    "is_zip",
]

_PARALLEL_MIN_MEMBERS = 250  # fewer take ~5 ms: not worth a worker (measured)
_PARALLEL_MIN_BYTES = 16 << 20  # ... unless they are big


def is_zip(path: Path) -> bool:
    """Whether ``path`` is a readable file with a zip end-of-central-directory record."""
    try:
        return zipfile.is_zipfile(path)
    except OSError:
        return False


def _auto_workers(members: int, nbytes: int) -> int:
    """1 for a small archive, else the CPU count (at most 4)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    many = members >= _PARALLEL_MIN_MEMBERS or nbytes >= _PARALLEL_MIN_BYTES
    return min(cpus or os.cpu_count() or 1, 4) if many else 1


def extract_zip(
    archive: Path,
    dest: Path,
    *,
    limits: ExtractLimits | None = None,
    workers: int | None = None,
    start_method: StartMethod | None = None,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    hashes: bool = True,
    arrival: Arrival | None = None,
) -> ExtractReport:
    """Extract ``archive`` into the existing, empty folder ``dest``.

    Every check on names, types and declared sizes runs before the first byte
    is written. On an error this raises and leaves what it already wrote in
    ``dest`` for the caller to remove; it never writes outside ``dest``. Files
    are created with mode 0o666 minus the umask, folders 0o777 minus the umask:
    modes, owners and times stored in the archive are ignored.

    Parameters
    ----------
    limits
        Zip-bomb limits; ``ExtractLimits.from_env()`` when omitted.
    workers
        Processes to use (this one included); ``None`` picks 1 for small
        archives, else the CPU count (at most 4).
    start_method
        How worker processes start; ``None`` chooses safely for this process
        (see :mod:`kagman.archive.workers`).
    progress
        Called in this thread with the number of bytes just written.
    on_total
        Called once, before writing, with the total the archive declares.
    hashes
        Hash every member (SHA-256) as it is written, in the process that writes
        it; the digests are in ``ExtractReport.sha256``. ``False`` only for
        benchmarks that measure what hashing costs.
    arrival
        The archive is still being downloaded into ``archive`` (a file of its full
        size): plan from its end through ``arrival.read``, then write each batch once
        its bytes are on disk (see :mod:`kagman.archive.arrival`). Every check still
        runs before the first byte is written; bzip2/lzma members wait for the whole
        archive.

    Raises
    ------
    UnsafeArchiveError
        A member would escape ``dest``, is a link or special file, or clashes.
    ArchiveError
        A member's name or path is longer than ``dest``'s filesystem allows.
    ArchiveTooLargeError
        The archive exceeds ``limits``, by its declared or its actual sizes.
    CorruptArchiveError
        Not a zip, truncated, bad CRC, encrypted or unsupported compression.
    DiskFullError
        The declared sizes do not fit on ``dest``'s disk (checked before writing),
        or the disk filled up anyway.
    """
    limits = ExtractLimits.from_env() if limits is None else limits
    with os.scandir(dest) as listing:
        if next(listing, None) is not None:
            msg = f"extract_zip needs an empty folder, and {dest} is not empty."
            raise ValueError(msg)
    root = os.fspath(dest)
    report = Progress(progress)
    fd = os.open(archive, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    preforked = None
    try:
        if arrival is None:
            found = plan(archive, file_reader(fd), os.fstat(fd).st_size, limits)
        else:
            # The central directory first; then the workers, then the download's threads
            # (fork only from one thread), and planning while the rest downloads.
            central = locate_central(archive, arrival.read, arrival.size, limits.max_members)
            arrival.read(central.start, central.size)
            if workers is None:
                workers = _auto_workers(central.entries, arrival.size)
            settled()  # threads that fetched the directory are gone, also for the OS
            start_method = start_method or default_start_method()
            if workers > 1 and start_method == "fork":
                preforked = Preforked(workers - 1, archive, fd, root, hashes, arrival)
            started(arrival)
            found = plan(archive, arrival.read, arrival.size, limits)
        check_lengths(archive, root, found)
        members = found.members
        reserve = arrival.reserve if arrival is not None else 0
        ensure_free_space(dest, found.declared + reserve, what=f"extracting {archive.name}")
        if on_total is not None:
            on_total(found.declared)  # lets a progress bar show a total before the first byte
        for folder in found.folders:
            try:
                os.mkdir(f"{root}/{folder}", 0o777)  # noqa: PTH102 - str paths are faster
            except OSError as err:
                raise os_error(archive, folder, err) from err
        batches = plan_batches(members)
        if workers is None:
            workers = _auto_workers(len(members), found.declared)
        digests = run(
            archive,
            fd,
            root,
            members,
            batches,
            workers=workers,
            progress=report,
            method=start_method,
            hashes=hashes,
            arrival=arrival,
            preforked=preforked,
        )
    finally:
        if preforked is not None:
            preforked.close()
        os.close(fd)
    del batches
    fallback = [i for i, method in enumerate(members.methods) if method in FALLBACK_METHODS]
    if fallback:
        if arrival is not None:
            arrival.wait(arrival.size, None)  # zipfile reads anywhere: wait for all of it
        extract_fallback(archive, root, members, fallback, report, digests)
    files = ExtractedFiles(members, found.order, digests)
    return ExtractReport(files, found.declared, found.skipped)
