"""Integrity checks for image files, in three tiers of cost.

``fast``
    Reads at most the first 4 KiB and the last 1 KiB with raw ``os`` calls: the file
    is not empty, its magic bytes are an image format, and the end-of-image marker
    is present (JPEG ``FFD9``, PNG ``IEND``, GIF ``;``, declared BMP/WebP sizes).
    This catches truncated downloads that ``Image.verify()`` lets through.
``header``
    ``fast`` plus Pillow parsing the header: records width, height and mode.
``full``
    ``header`` plus decoding every pixel, in a process pool.

Each check returns a :class:`CheckResult` whose ``reason`` is ``""`` for a good
file. Nothing here ever deletes, moves or rewrites a file.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import pickle
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal, NamedTuple

from kagman.fs import counted
from kagman.images.formats import describe_non_image, sniff

__all__ = [
    "CHECK_LEVELS",
    "FAST_HELPERS_MIN",
    "CheckLevel",
    "CheckResult",
    "EarlyHelpers",
    "check_many",
    "fast_check",
    "full_check",
    "header_check",
]

log = logging.getLogger(__name__)

CheckLevel = Literal["none", "fast", "header", "full"]
CHECK_LEVELS: tuple[CheckLevel, ...] = ("none", "fast", "header", "full")


class CheckResult(NamedTuple):
    """What a check found about one file; ``reason == ""`` means the file is good."""

    reason: str  # a problem reason ("truncated", "not-an-image", ...) or ""
    detail: str  # the reason in words, for .problems
    format: str  # "JPEG", "PNG", ... from the content ("" when unknown)
    width: int = 0  # pixels (header and full checks only)
    height: int = 0
    mode: str = ""  # Pillow's mode ("RGB", "L", "CMYK", ...)


_HEAD = 4096
_TAIL = 1024
# O_NONBLOCK: a FIFO named like an image must not hang the index.
_O_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)

_OK = CheckResult("", "", "")


def _end_problem(fmt: str, head: bytes, tail: bytes, size: int) -> str:
    """Return why the end of the file looks cut off, or ``""`` when it looks complete."""
    if fmt == "JPEG":
        # FF D9 cannot occur inside entropy-coded data (FF is always stuffed), so its
        # presence near the end means the image was written to the end. Trailing
        # padding or maker trailers after it are tolerated.
        return "" if b"\xff\xd9" in tail else "no JPEG end marker (FF D9): the file is truncated"
    if fmt == "PNG":
        return "" if b"IEND" in tail else "no PNG IEND chunk: the file is truncated"
    if fmt == "GIF":
        end = tail.rstrip(b"\x00")
        return "" if end.endswith(b";") else "no GIF trailer byte (;): the file is truncated"
    if fmt == "WEBP":
        declared = int.from_bytes(head[4:8], "little") + 8
        return "" if declared <= size else f"WebP header says {declared} bytes, file has {size}"
    if fmt == "BMP":
        declared = int.from_bytes(head[2:6], "little")
        return "" if declared <= size else f"BMP header says {declared} bytes, file has {size}"
    if fmt == "TIFF":
        order: Literal["little", "big"] = "little" if head[:2] == b"II" else "big"
        first_ifd = int.from_bytes(head[4:8], order)
        if head[2:4] in (b"*\x00", b"\x00*") and first_ifd >= size:
            return "TIFF directory lies past the end of the file: the file is truncated"
    return ""


def fast_check(path: str) -> CheckResult:
    """Check size, magic bytes and end marker with at most four system calls.

    A file smaller than 4 KiB is read in one ``read``; a larger one costs a seek
    and a second read of its last 1 KiB. No ``stat`` is needed.
    """
    return _fast_chunk([path])[0]


_JPEG_OK = CheckResult("", "", "JPEG")
_PNG_OK = CheckResult("", "", "PNG")


def _fast_chunk(paths: Sequence[str]) -> list[CheckResult]:
    """:func:`fast_check` over many paths; the loop is the hot path of ``check="fast"``."""
    sys_open, sys_read, sys_close, sys_seek = os.open, os.read, os.close, os.lseek
    flags, head_size, tail_size, seek_end = _O_FLAGS, _HEAD, _TAIL, os.SEEK_END
    out: list[CheckResult] = []
    append = out.append
    for path in paths:
        try:
            fd = sys_open(path, flags)
            try:
                head = sys_read(fd, head_size)
                if len(head) < head_size:  # the whole file: its end is in head
                    size, tail = len(head), head
                else:
                    size = sys_seek(fd, -tail_size, seek_end) + tail_size
                    tail = sys_read(fd, tail_size)
            finally:
                sys_close(fd)
        except OSError as err:
            append(CheckResult("unreadable", f"{type(err).__name__}: {err.strerror or err}", ""))
            continue
        # The two formats of nearly every dataset first, without a function call; end
        # markers are looked for in the last 1 KiB (find's negative start, no copy).
        if head.startswith(b"\xff\xd8\xff") and tail.find(b"\xff\xd9", -tail_size) >= 0:
            append(_JPEG_OK)
        elif head.startswith(b"\x89PNG\r\n\x1a\n") and tail.find(b"IEND", -tail_size) >= 0:
            append(_PNG_OK)
        else:
            append(_judge(head, tail[-tail_size:], size))
    return out


def _judge(head: bytes, tail: bytes, size: int) -> CheckResult:
    """The slow path of :func:`_fast_chunk`: name what is wrong, or accept a rarer format."""
    if size == 0:
        return CheckResult("empty", "the file has 0 bytes", "")
    fmt = sniff(head)
    if not fmt:
        return CheckResult("not-an-image", describe_non_image(head), "")
    problem = _end_problem(fmt, head, tail, size)
    if problem:
        return CheckResult("truncated", problem, fmt)
    return CheckResult("", "", fmt)


def _pillow_check(path: str, *, decode: bool) -> CheckResult:
    """Run :func:`fast_check`, then open (and optionally decode) the file with Pillow."""
    result = fast_check(path)
    if result.reason:
        return result
    from PIL import Image

    stage = "open"
    try:
        with warnings.catch_warnings():
            # Large images are legitimate (satellite scans); only Pillow's hard
            # decompression-bomb limit below turns into a problem.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                fmt, (width, height), mode = im.format or result.format, im.size, im.mode
                if decode:
                    stage = "decode"
                    im.load()
    except Image.DecompressionBombError as err:
        return CheckResult("too-large", str(err), result.format)
    except Exception as err:  # any decoder failure means a bad file; it is reported
        reason = "bad-header" if stage == "open" else "decode-error"
        return CheckResult(reason, f"{type(err).__name__}: {err}", result.format)
    return CheckResult("", "", fmt, width, height, mode)


def header_check(path: str) -> CheckResult:
    """``fast`` plus Pillow parsing the header (format, size, mode)."""
    return _pillow_check(path, decode=False)


def full_check(path: str) -> CheckResult:
    """``header`` plus decoding every pixel."""
    return _pillow_check(path, decode=True)


_CHECKS: dict[str, Callable[[str], CheckResult]] = {
    "header": header_check,
    "full": full_check,
}


def _check_chunk(level: str, paths: Sequence[str]) -> list[CheckResult]:
    """Worker entry point: check one chunk of paths (picklable, module level)."""
    if level == "fast":
        return _fast_chunk(paths)
    check = _CHECKS[level]
    return [check(p) for p in paths]


# Below this many files a process pool costs more to start than it saves.
_POOL_MIN = {"header": 5000, "full": 8}
_CHUNK = 256
# check="fast" is bound by open/read/close, ~5 us a file, so only more processes help.
# Measured on 100,000 files in tmpfs, 2 cores, with pandas imported (as index() has it):
# 2-4 threads 1.00-1.07x one thread (the GIL changes hands at every system call); a
# ProcessPoolExecutor 1.4-2.5x with forkserver or spawn (each worker imports the caller's
# __main__ first) and 0.55x forked, but pandas' threads make fork unsafe (see
# kagman.archive.workers); one helper interpreter per extra core (`python -S -c`, ~45 ms
# until it reads) given its share of the paths on stdin: 0.55-0.6x. Helpers pay from about
# _FAST_HELPERS_MIN files. A helper answers in blocks; when this process is done with its
# own share it checks the helper's share from the end, block by block, until they meet, so
# a helper slowed down by other load on the machine costs little.
_FAST_HELPERS_MIN = 25_000
FAST_HELPERS_MIN = _FAST_HELPERS_MIN  # images the walk sees before helpers start early
_HELPER_START = 8_000  # files this process checks while a helper starts: its head start
_MAX_HELPERS = 3
_BLOCK = 1024  # paths per answer of a helper, and per block this process takes back
_HELPER = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from kagman.images.check import _serve_fast; _serve_fast()"
)


def _serve_fast() -> None:
    """A helper interpreter's work: NUL-separated paths on stdin; results out, block by block.

    Each block is its length (4 bytes, little-endian) and the pickled results.
    """
    data = sys.stdin.buffer.read()
    paths = os.fsdecode(data).split("\0") if data else []
    out = sys.stdout.buffer
    for start in range(0, len(paths), _BLOCK):
        block = pickle.dumps(_fast_chunk(paths[start : start + _BLOCK]), protocol=5)
        out.write(len(block).to_bytes(4, "little") + block)
        out.flush()


def _spawn_helper() -> subprocess.Popen[bytes]:
    """Start one helper interpreter; it waits for its paths on stdin."""
    root = os.fspath(Path(__file__).resolve().parents[2])  # where kagman/ is
    return subprocess.Popen(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-S", "-c", _HELPER, root],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )


class EarlyHelpers:
    """Helper interpreters for ``check="fast"``, started before the paths are known.

    :func:`kagman.images.build.index_folder` starts them as soon as its walk has seen
    :data:`FAST_HELPERS_MIN` images, so their ~45 ms start-up overlaps the rest of the walk
    and the layout detection instead of delaying the check. Those not handed to
    :func:`check_many` are stopped by :meth:`close`.
    """

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        """One helper per other core this process may use (at most three)."""
        if self.procs or not sys.executable:
            return
        self.procs = [_spawn_helper() for _ in range(min(_cpus() - 1, _MAX_HELPERS))]

    def take(self, n: int) -> list[subprocess.Popen[bytes]]:
        """Up to ``n`` of the started helpers, now the caller's to stop."""
        taken, self.procs = self.procs[:n], self.procs[n:]
        return taken

    def close(self) -> None:
        """Stop the helpers nobody took."""
        for proc in self.take(len(self.procs)):
            proc.kill()
            proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    pipe.close()


def _cpus() -> int:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return cpus or os.cpu_count() or 1


class _Helper:
    """A helper interpreter checking one share of the paths while this process checks another."""

    def __init__(self, paths: Sequence[str], proc: subprocess.Popen[bytes] | None = None) -> None:
        self.paths = paths
        self.blocks: list[list[CheckResult]] = []  # the helper's answers so far, in order
        self.done = 0  # results in blocks
        self.proc = proc if proc is not None else _spawn_helper()
        data = os.fsencode("\0".join(paths))  # names hold no NUL; one call for all
        # Threads feed and read the pipes: this process has its own share to check meanwhile.
        self.threads = [
            threading.Thread(target=self._feed, args=(data,), daemon=True),
            threading.Thread(target=self._read, daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def _feed(self, data: bytes) -> None:
        stdin = self.proc.stdin
        assert stdin is not None  # noqa: S101 - opened with PIPE above
        with contextlib.suppress(OSError):  # the helper died or was stopped
            stdin.write(data)
            stdin.close()

    def _read(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None  # noqa: S101 - opened with PIPE above
        with contextlib.suppress(Exception):  # a helper that died: results() checks the rest
            while size := int.from_bytes(stdout.read(4), "little"):
                block: list[CheckResult] = pickle.loads(stdout.read(size))  # noqa: S301 - ours
                self.blocks.append(block)
                self.done += len(block)

    def results(self) -> list[CheckResult]:
        """The results of this helper's share: its answers, and the blocks taken back here."""
        end, taken = len(self.paths), []
        while self.done < end:
            start = max(self.done, end - _BLOCK)
            taken.append(_fast_chunk(self.paths[start:end]))
            end = start
        self.stop()
        if taken:
            log.debug(
                "Checked %d of a helper's %s here", len(self.paths) - end, counted(end, "file")
            )
        answered = [result for block in self.blocks for result in block][:end]
        return answered + [result for block in reversed(taken) for result in block]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for thread in self.threads:
            thread.join()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


def _fast_many(
    paths: Sequence[str], workers: int | None, early: EarlyHelpers | None = None
) -> list[CheckResult]:
    """``check="fast"`` on every path, split over this process and helper interpreters."""
    started = bool(early is not None and early.procs)  # running already: use them
    if workers is None:
        workers = _cpus() if len(paths) >= _FAST_HELPERS_MIN or started else 1
    workers = max(1, min(workers, _MAX_HELPERS + 1, len(paths)))
    if workers == 1 or not sys.executable:
        return _fast_chunk(paths)
    procs = early.take(workers - 1) if early is not None else []
    if procs:
        files, ready = counted(len(paths), "file"), counted(len(procs), "helper")
        log.debug("Checking %s here and in %s started early", files, ready)
    # This process takes a larger share while helpers start; the rest is split evenly. A
    # helper started early is ready, or nearly: all get even shares (a slow helper's blocks
    # are taken back from its end anyway).
    head = 0 if procs else min(_HELPER_START, len(paths) // (2 * workers))
    first = (len(paths) + (workers - 1) * head) // workers
    rest = len(paths) - first
    cuts = [0, *(first + rest * k // (workers - 1) for k in range(workers))]
    helpers: list[_Helper] = []
    try:
        for i, (a, b) in enumerate(itertools.pairwise(cuts[1:])):
            helpers.append(_Helper(paths[a:b], procs[i] if i < len(procs) else None))
        results = _fast_chunk(paths[: cuts[1]])
        for helper in helpers:
            results += helper.results()
    finally:
        for helper in helpers:
            helper.stop()
    return results


def check_many(
    paths: Sequence[str],
    level: CheckLevel,
    *,
    workers: int | None = None,
    early: EarlyHelpers | None = None,
) -> list[CheckResult]:
    """Check every path at ``level``; returns one :class:`CheckResult` per path, in order.

    ``fast`` on 10,000 files or more is split between this process and a helper
    interpreter per other core (at most 3), each given its share of the paths (no fork:
    safe from threads and notebooks); results come back in order. ``workers`` set for
    ``fast``: that many processes whatever the number of files (1: this process alone).
    ``early``: helpers started while the paths were listed (:class:`EarlyHelpers`), used
    first; the caller closes it.
    ``header`` on many files and ``full`` on more than a handful run in a process pool of
    ``workers`` processes (default: the CPU count), started with ``spawn`` so it is safe
    from threads and notebooks alike.
    """
    if level == "none" or not paths:
        return [_OK] * len(paths)
    if level == "fast":
        return _fast_many(paths, workers, early)
    if len(paths) < _POOL_MIN[level]:
        return _check_chunk(level, paths)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    n_workers = max(1, min(workers or os.cpu_count() or 1, -(-len(paths) // _CHUNK)))
    chunks = [paths[i : i + _CHUNK] for i in range(0, len(paths), _CHUNK)]
    verb = "Decoding" if level == "full" else "Reading headers of"
    log.info(
        "%s %s in %s...",
        verb,
        counted(len(paths), "image"),
        counted(n_workers, "process", "processes"),
    )
    ctx = multiprocessing.get_context("spawn")
    results: list[CheckResult] = []
    with ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx) as pool:
        for chunk_result in pool.map(_check_chunk, [level] * len(chunks), chunks):
            results.extend(chunk_result)
    return results
