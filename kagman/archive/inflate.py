"""Raw deflate and CRC-32 for the writer: ISA-L (``isal``) when installed, else :mod:`zlib`.

The one place that chooses the library; everything else calls :func:`decompressobj`
and :func:`crc32`. The figures that chose it are in ``benchmarks/bench_inflate.py``
and the README's dependency notes.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from types import ModuleType
from typing import Protocol, cast

__all__ = ["BACKEND", "ERRORS", "Inflater", "crc32", "decompressobj"]


class Inflater(Protocol):
    """What the writer uses of a ``zlib.decompressobj``; the other libraries have the same."""

    @property
    def eof(self) -> bool: ...  # the end of the deflate stream was reached

    @property
    def unconsumed_tail(self) -> bytes: ...  # input left over when ``max_length`` was hit

    def decompress(self, data: bytes | memoryview, max_length: int = 0, /) -> bytes: ...

    def flush(self) -> bytes: ...


_lib: ModuleType
ERRORS: tuple[type[Exception], ...]
try:
    from isal import isal_zlib

    _lib, BACKEND = isal_zlib, "isal"
    ERRORS = (zlib.error, cast("type[Exception]", isal_zlib.IsalError))  # its stub says otherwise
except ImportError:  # an optional speed-up: the standard library does the same, slower
    _lib, BACKEND = zlib, "zlib"
    ERRORS = (zlib.error,)

crc32: Callable[..., int] = _lib.crc32  # (data, start=0): the CRC-32 of data, continued


def decompressobj() -> Inflater:
    """An inflater for a zip member's raw deflate stream (no zlib header: ``wbits=-15``)."""
    inflater: Inflater = _lib.decompressobj(-15)
    return inflater
