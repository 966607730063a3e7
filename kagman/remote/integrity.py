"""What the storage says an object is, and whether the bytes received match it.

Google Cloud Storage, where Kaggle's download redirects point, sends
``x-goog-hash: crc32c=<base64>,md5=<base64>`` with every object: hashes of the whole
object, on 206 answers too
(https://cloud.google.com/storage/docs/xml-api/reference-headers#xgooghash). kagglehub
checks the MD5 the same way (``kagglehub/integrity.py``). The MD5 is computed while the
bytes are written (:class:`RunningMD5`), so a finished download is never read again to
check it; a download resumed by another process hashes the prefix already on disk once,
before asking for the rest (as kagglehub does).
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping
from typing import NamedTuple

__all__ = ["ContentRange", "RunningMD5", "content_range", "goog_md5"]

_READ = 1 << 20


def goog_md5(headers: Mapping[str, str]) -> str | None:
    """The base64 MD5 in ``x-goog-hash`` (GCS may send the header twice; requests joins them).

    >>> goog_md5({"x-goog-hash": "crc32c=n03x6A==, md5=Ojk9c3dhfxgoKVVHYwFbHQ=="})
    'Ojk9c3dhfxgoKVVHYwFbHQ=='
    >>> goog_md5({}) is None
    True
    """
    value = headers.get("x-goog-hash") or ""
    for part in value.split(","):
        name, _, digest = part.strip().partition("=")
        if name.lower() == "md5" and digest:
            return digest
    return None


class ContentRange(NamedTuple):
    """A 206 answer's ``Content-Range: bytes <start>-<end>/<total>`` (total None for ``*``)."""

    start: int
    end: int
    total: int | None


def content_range(value: str | None) -> ContentRange | None:
    """Parse ``Content-Range``; None when it is missing or malformed.

    >>> content_range("bytes 100-999/1000")
    ContentRange(start=100, end=999, total=1000)
    >>> content_range("bytes 0-9/*").total is None, content_range("items 1-2/3")
    (True, None)
    """
    unit, _, spec = (value or "").strip().partition(" ")
    span, _, total = spec.partition("/")
    first, _, last = span.partition("-")
    if unit != "bytes" or not (first.isdigit() and last.isdigit()):
        return None
    if total != "*" and not total.isdigit():
        return None
    start, end = int(first), int(last)
    return ContentRange(start, end, None if total == "*" else int(total)) if end >= start else None


class RunningMD5:
    """The MD5 of a partial file, kept up to date as bytes are appended to it.

    ``length`` is how many bytes of the file the hash covers; :meth:`catch_up` makes it
    cover exactly the first ``size`` bytes, reading the file only when it must (a
    download resumed from another process's partial file, or after a failed write).
    """

    def __init__(self) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self.length = 0

    def reset(self) -> None:
        """Forget everything: the partial file starts over."""
        self._md5 = hashlib.md5(usedforsecurity=False)
        self.length = 0

    def update(self, data: bytes | memoryview) -> None:
        """Add bytes just appended to the file."""
        self._md5.update(data)
        self.length += len(data)

    def catch_up(self, path: os.PathLike[str] | str, size: int) -> None:
        """Make the hash cover the first ``size`` bytes of ``path``.

        Raises
        ------
        OSError
            The file cannot be read, or is shorter than ``size``.
        """
        if self.length == size:
            return
        self.reset()
        with open(path, "rb") as fh:
            while self.length < size:
                chunk = fh.read(min(_READ, size - self.length))
                if not chunk:
                    msg = f"{path} is shorter than {size} bytes"
                    raise OSError(msg)
                self.update(chunk)

    def b64digest(self) -> str:
        """The digest as ``x-goog-hash`` writes it (base64)."""
        return base64.b64encode(self._md5.digest()).decode("ascii")
