"""The partial file of a download: its record, and appending an answer's body to it.

A partial download lives at ``<part>``; ``<part>.json`` says what it is a prefix of (the
URL without its query, so never the storage's signature; the validator, the size, the
storage's MD5, and whether the complete file was verified). The record is written before
the first byte of an answer, so a later process can tell whether the bytes on disk belong
to the object on offer. :func:`append_body` writes an answer's body as it arrives (a
dropped connection keeps every byte received), hashing it on the way, and never lets a
body run past the length it declared.

A download in parallel parts (:mod:`kagman.remote.parallel`) writes into a file of the
object's full size, and its record also lists the parts (:class:`Span`: where each starts
and ends, and how many of its bytes are on disk), so each part resumes on its own. The
file's size then says nothing: :func:`partial_progress` and :func:`spans_prefix` read the
parts.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from kagman.errors import DiskFullError
from kagman.fs import atomic_write_bytes
from kagman.remote.hosts import public_url
from kagman.remote.integrity import RunningMD5

if TYPE_CHECKING:
    import requests

__all__ = [
    "CHUNK",
    "BodyOverrun",
    "PartialInfo",
    "Progress",
    "Span",
    "append_body",
    "body_chunks",
    "discard_partial",
    "partial_progress",
    "read_info",
    "spans_prefix",
    "write_at",
    "write_info",
]

CHUNK = 1024 * 1024
Progress = Callable[[int, "int | None", int], None]


class Span(NamedTuple):
    """One part of a parallel download: bytes ``[start, end)``, of which ``done`` are on disk."""

    start: int
    end: int
    done: int


@dataclass(frozen=True)
class PartialInfo:
    """What we know about the object a partial file is a prefix of (or holds parts of)."""

    url: str
    validator: str  # ETag, else Last-Modified, else ""
    total: int | None
    md5: str | None = None  # base64 MD5 of the whole object (x-goog-hash), if the storage sent one
    verified: bool = False  # the file is complete and matched ``md5``
    parts: tuple[Span, ...] | None = None  # a parallel download's parts; None: a prefix


class BodyOverrun(Exception):  # noqa: N818 - a signal for the retry loop, never escapes
    """An answer's body ran past the length it declared (its bytes were cut back off)."""


def _info_path(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def read_info(part: Path) -> PartialInfo | None:
    """The record of ``part``, or None when it is missing or unreadable."""
    try:
        data = json.loads(_info_path(part).read_bytes())
        parts = data.get("parts")
        spans = None
        if parts is not None:
            spans = tuple(Span(int(start), int(end), int(done)) for start, end, done in parts)
        return PartialInfo(
            str(data["url"]),
            str(data["validator"]),
            data.get("total"),
            data.get("md5"),
            bool(data.get("verified", False)),
            spans,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_info(part: Path, info: PartialInfo) -> None:
    """Record what ``part`` is a prefix of, before any of its bytes are written.

    The URL is stored without its query: a signed URL's signature is a secret, and a
    resumed download asks Kaggle for a fresh URL anyway.
    """
    body = asdict(info)
    body["url"] = public_url(info.url)
    if info.parts is None:
        del body["parts"]
    else:
        body["parts"] = [list(span) for span in info.parts]
    atomic_write_bytes(_info_path(part), json.dumps(body).encode())


def spans_prefix(spans: tuple[Span, ...] | list[Span]) -> int:
    """How many bytes from the start are on disk, given the parts sorted by start.

    >>> spans_prefix([Span(0, 10, 10), Span(10, 20, 4), Span(20, 30, 10)])
    14
    """
    have = 0
    for span in spans:
        if span.start != have:
            break
        have = span.start + span.done
        if span.done < span.end - span.start:
            break
    return have


def discard_partial(part: Path) -> None:
    """Forget a partial download (e.g. after a corrupt archive).

    The record goes first: a pull killed in between leaves bytes without a record (which
    the next pull does not trust, and downloads afresh), never a record without its bytes.
    """
    for path in (_info_path(part), part):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def partial_progress(part: Path) -> tuple[int, int | None]:
    """``(bytes on disk, total or None)`` of a partial download; ``(0, None)`` if none.

    A parallel download's bytes are the sum of its parts' (its file has its full size).
    """
    try:
        have = part.stat().st_size
    except OSError:
        return 0, None
    info = read_info(part)
    if info is not None and info.parts is not None:
        have = sum(span.done for span in info.parts)
    return have, info.total if info is not None else None


def disk_full(part: Path, err: OSError) -> DiskFullError:
    """The error of a download that filled the disk (its partial file is to be removed)."""
    msg = (
        f"The disk filled up while downloading to {part.parent}. The partial file was "
        "removed. Free some space (or set KAGMAN_CACHE to a bigger disk) and pull again."
    )
    error = DiskFullError(msg, path=part.parent)
    error.__cause__ = err
    return error


def write_at(fd: int, data: bytes, offset: int, part: Path) -> None:
    """``os.pwrite`` all of ``data`` at ``offset`` of the partial file ``part``.

    Raises
    ------
    DiskFullError
        The disk filled up (the caller removes the partial file).
    """
    view = memoryview(data)
    try:
        while view:
            n = os.pwrite(fd, view, offset)
            view, offset = view[n:], offset + n
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise disk_full(part, err) from err


def body_chunks(response: requests.Response) -> Iterator[bytes]:
    """Yield body bytes as they arrive.

    ``iter_content(n)`` waits for ``n`` bytes and drops what it holds when the
    connection breaks; urllib3 2's ``read1`` hands over what has arrived, so a
    dropped download keeps every byte it received.
    """
    raw = response.raw
    read1 = getattr(raw, "read1", None)
    if read1 is None:  # pragma: no cover - urllib3 1.x
        yield from response.iter_content(64 * 1024)
        return
    while True:
        chunk = read1(CHUNK)
        if not chunk:
            return
        yield chunk


def append_body(  # noqa: PLR0917 - one caller, each argument named there
    response: requests.Response,
    part: Path,
    have: int,
    declared: int | None,
    hasher: RunningMD5 | None,
    progress: Progress | None,
    total: int | None,
) -> int:
    """Write the body to ``part`` from byte ``have`` (truncating at 0), hashing as it goes.

    Returns the bytes written.

    Raises
    ------
    BodyOverrun
        The body ran past ``declared`` bytes: what this answer wrote is cut back off.
    DiskFullError
        The disk filled up; the partial file is removed to give the space back.
    """
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if have else os.O_TRUNC)
    fd = os.open(part, flags, 0o644)
    written = 0
    full: OSError | None = None
    try:
        with response:
            for chunk in body_chunks(response):
                if declared is not None and written + len(chunk) > declared:
                    os.ftruncate(fd, have)
                    if hasher is not None:
                        hasher.length = -1  # the next attempt re-hashes what is on disk
                    msg = f"the body runs past the {declared:,} bytes it declared"
                    raise BodyOverrun(msg)
                view = memoryview(chunk)
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
                written += len(chunk)
                if hasher is not None:
                    hasher.update(chunk)
                if progress is not None:
                    progress(len(chunk), total, have)
        os.fsync(fd)
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        full = err
    finally:
        os.close(fd)
    if full is not None:
        discard_partial(part)
        raise disk_full(part, full) from full
    return written
