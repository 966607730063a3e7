"""The partial file of a download: its record, and appending an answer's body to it.

A partial download lives at ``<part>``; ``<part>.json`` says what it is a prefix of (the
URL, the validator, the size, the storage's MD5, and whether the complete file was
verified). The record is written before the first byte of an answer, so a later
process can tell whether the bytes on disk belong to the object on offer.
:func:`append_body` writes an answer's body as it arrives (a dropped connection keeps
every byte received), hashing it on the way, and never lets a body run past the length
it declared.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kagman.errors import DiskFullError
from kagman.fs import atomic_write_bytes
from kagman.remote.integrity import RunningMD5

if TYPE_CHECKING:
    import requests

__all__ = [
    "CHUNK",
    "BodyOverrun",
    "PartialInfo",
    "Progress",
    "append_body",
    "discard_partial",
    "partial_progress",
    "read_info",
    "write_info",
]

CHUNK = 1024 * 1024
Progress = Callable[[int, "int | None", int], None]


@dataclass(frozen=True)
class PartialInfo:
    """What we know about the object a partial file is a prefix of."""

    url: str
    validator: str  # ETag, else Last-Modified, else ""
    total: int | None
    md5: str | None = None  # base64 MD5 of the whole object (x-goog-hash), if the storage sent one
    verified: bool = False  # the file is complete and matched ``md5``


class BodyOverrun(Exception):  # noqa: N818 - a signal for the retry loop, never escapes
    """An answer's body ran past the length it declared (its bytes were cut back off)."""


def _info_path(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def read_info(part: Path) -> PartialInfo | None:
    """The record of ``part``, or None when it is missing or unreadable."""
    try:
        data = json.loads(_info_path(part).read_bytes())
        return PartialInfo(
            str(data["url"]),
            str(data["validator"]),
            data.get("total"),
            data.get("md5"),
            bool(data.get("verified", False)),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_info(part: Path, info: PartialInfo) -> None:
    """Record what ``part`` is a prefix of, before any of its bytes are written."""
    atomic_write_bytes(_info_path(part), json.dumps(asdict(info)).encode())


def discard_partial(part: Path) -> None:
    """Forget a partial download (e.g. after a corrupt archive)."""
    for path in (part, _info_path(part)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def partial_progress(part: Path) -> tuple[int, int | None]:
    """``(bytes on disk, total or None)`` of a partial download; ``(0, None)`` if none."""
    try:
        have = part.stat().st_size
    except OSError:
        return 0, None
    info = read_info(part)
    return have, info.total if info is not None else None


def _chunks(response: requests.Response) -> Iterator[bytes]:
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
            for chunk in _chunks(response):
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
        msg = (
            f"The disk filled up while downloading to {part.parent}. The partial file was "
            "removed. Free some space (or set KAGMAN_CACHE to a bigger disk) and pull again."
        )
        raise DiskFullError(msg, path=part.parent) from full
    return written
