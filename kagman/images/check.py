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

import logging
import os
import warnings
from collections.abc import Callable, Sequence
from typing import Literal, NamedTuple

from kagman.images.formats import describe_non_image, sniff

__all__ = [
    "CHECK_LEVELS",
    "CheckLevel",
    "CheckResult",
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
                if len(head) < head_size:
                    size, tail = len(head), head[-tail_size:]
                else:
                    size = sys_seek(fd, -tail_size, seek_end) + tail_size
                    tail = sys_read(fd, tail_size)
            finally:
                sys_close(fd)
        except OSError as err:
            append(CheckResult("unreadable", f"{type(err).__name__}: {err.strerror or err}", ""))
            continue
        # The two formats of nearly every dataset first, without a function call.
        if head[:3] == b"\xff\xd8\xff" and b"\xff\xd9" in tail:
            append(_JPEG_OK)
        elif head[:8] == b"\x89PNG\r\n\x1a\n" and b"IEND" in tail:
            append(_PNG_OK)
        else:
            append(_judge(head, tail, size))
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
_POOL_MIN = {"fast": 1 << 62, "header": 5000, "full": 8}
_CHUNK = 256


def check_many(
    paths: Sequence[str], level: CheckLevel, *, workers: int | None = None
) -> list[CheckResult]:
    """Check every path at ``level``; returns one :class:`CheckResult` per path, in order.

    ``fast`` runs in this process (it is system-call bound, a pool only adds
    overhead). ``header`` on many files and ``full`` on more than a handful run in a
    process pool of ``workers`` processes (default: the CPU count), started with
    ``spawn`` so it is safe from threads and notebooks alike.
    """
    if level == "none" or not paths:
        return [_OK] * len(paths)
    if len(paths) < _POOL_MIN[level]:
        return _check_chunk(level, paths)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    n_workers = max(1, min(workers or os.cpu_count() or 1, -(-len(paths) // _CHUNK)))
    chunks = [paths[i : i + _CHUNK] for i in range(0, len(paths), _CHUNK)]
    verb = "Decoding" if level == "full" else "Reading headers of"
    log.info("%s %d images in %d processes...", verb, len(paths), n_workers)
    ctx = multiprocessing.get_context("spawn")
    results: list[CheckResult] = []
    with ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx) as pool:
        for chunk_result in pool.map(_check_chunk, [level] * len(chunks), chunks):
            results.extend(chunk_result)
    return results
