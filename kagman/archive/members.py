"""The files an archive extracts to, held compactly: parallel arrays, one slot per member.

A pull of a 300,000-member archive must fit in 150 MB, so a member is not an object
here: its fields live in :mod:`array` columns and its path in one UTF-8 byte string,
about 60 bytes a member (a ``NamedTuple`` with its ints and strings costs ~400).
:class:`Members` is read through named accessors (``path(i)``, ``offsets[i]``, ...);
:meth:`Members.member` gives one member as a named record where speed does not matter.

Members are kept in archive order (by local header offset), so that a run of
neighbours is a range of indices (:class:`Batch`) and one ``pread`` reads it.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from typing import NamedTuple

__all__ = ["Batch", "Columns", "Member", "Members"]

_U32 = "I" if array("I").itemsize >= 4 else "L"  # the CRC column: 4 bytes where C allows


class Member(NamedTuple):
    """One member, whole: for tests, messages and the rare slow paths."""

    path: str  # posix path relative to the target folder
    offset: int  # of the local header
    raw_name: bytes  # as stored, to check the local header against
    method: int
    csize: int
    usize: int
    crc: int
    end: int  # where the next member (or the central directory) starts


class Batch(NamedTuple):
    """Neighbouring members ``start <= i < stop`` whose bytes are ``[begin, end)`` of the archive.

    A batch needs exactly those bytes and no others: a writer may start on it as soon as
    they are on disk.
    """

    start: int
    stop: int
    begin: int  # offset of the first member's local header
    end: int  # where the last member's data must end (the next member, or the directory)


class Columns(NamedTuple):
    """:meth:`Members.columns`: the table's columns, in this order."""

    offsets: array[int]
    csizes: array[int]
    usizes: array[int]
    crcs: array[int]
    methods: array[int]
    paths: bytearray
    path_ends: array[int]
    raw_names: dict[int, bytes]


class Members:
    """Files to write, in archive order, as parallel columns (see the module docstring).

    Columns (``array``, indexed by member): ``offsets`` (local header), ``csizes``,
    ``usizes`` (bytes), ``crcs``, ``methods``; ``path_ends[i]`` is where member ``i``'s
    path ends in ``paths`` (UTF-8, concatenated; it starts where member ``i - 1``'s
    ends). ``raw_names`` holds the stored name only where it is not the path's UTF-8.
    ``limit`` is where the central directory starts: no member's data goes past it.
    """

    __slots__ = (
        "crcs",
        "csizes",
        "limit",
        "methods",
        "offsets",
        "path_ends",
        "paths",
        "raw_names",
        "usizes",
    )

    def __init__(self, limit: int) -> None:
        self.offsets = array("Q")
        self.csizes = array("Q")
        self.usizes = array("Q")
        self.crcs = array(_U32)
        self.methods = array("B")
        self.path_ends = array("Q")
        self.paths = bytearray()
        self.raw_names: dict[int, bytes] = {}
        self.limit = limit

    def __len__(self) -> int:
        return len(self.offsets)

    def columns(self) -> Columns:
        """Every column, in one tuple: hot loops bind them to locals once."""
        return Columns(
            self.offsets,
            self.csizes,
            self.usizes,
            self.crcs,
            self.methods,
            self.paths,
            self.path_ends,
            self.raw_names,
        )

    def path(self, i: int) -> str:
        """Member ``i``'s posix path relative to the target folder."""
        return self.paths[self.path_ends[i - 1] if i else 0 : self.path_ends[i]].decode()

    def path_bytes(self, i: int) -> bytes:
        """The UTF-8 of :meth:`path` (sorting by it is sorting by code point)."""
        return bytes(self.paths[self.path_ends[i - 1] if i else 0 : self.path_ends[i]])

    def raw_name(self, i: int) -> bytes:
        """Member ``i``'s name as stored in the archive."""
        raw = self.raw_names.get(i)
        return self.path_bytes(i) if raw is None else raw

    def end(self, i: int) -> int:
        """Where member ``i``'s bytes must end: the next member's offset, or :attr:`limit`."""
        return self.offsets[i + 1] if i + 1 < len(self.offsets) else self.limit

    def member(self, i: int) -> Member:
        """Member ``i`` as one named record."""
        return Member(
            self.path(i),
            self.offsets[i],
            self.raw_name(i),
            self.methods[i],
            self.csizes[i],
            self.usizes[i],
            self.crcs[i],
            self.end(i),
        )

    def section(self, start: int, stop: int) -> Members:
        """Members ``start <= i < stop`` as a table of their own (what a pool task is sent).

        Indices shift down by ``start``; the last member keeps its end.
        """
        part = Members(self.end(stop - 1))
        first = self.path_ends[start - 1] if start else 0
        part.offsets = self.offsets[start:stop]
        part.csizes = self.csizes[start:stop]
        part.usizes = self.usizes[start:stop]
        part.crcs = self.crcs[start:stop]
        part.methods = self.methods[start:stop]
        part.path_ends = array("Q", (end - first for end in self.path_ends[start:stop]))
        part.paths = self.paths[first : self.path_ends[stop - 1]]
        part.raw_names = {i - start: n for i, n in self.raw_names.items() if start <= i < stop}
        return part

    def reorder(self, order: Iterable[int]) -> None:
        """Put the members in the order of ``order`` (indices into the current order)."""
        order = list(order)
        lengths = [self.path_ends[i] - (self.path_ends[i - 1] if i else 0) for i in order]
        paths = bytearray()
        for i in order:
            paths += self.paths[self.path_ends[i - 1] if i else 0 : self.path_ends[i]]
        where = {old: new for new, old in enumerate(order)}
        self.raw_names = {where[i]: raw for i, raw in self.raw_names.items()}
        for column in ("offsets", "csizes", "usizes", "crcs", "methods"):
            values: array[int] = getattr(self, column)
            setattr(self, column, array(values.typecode, (values[i] for i in order)))
        self.paths = paths
        ends, total = array("Q"), 0
        for length in lengths:
            total += length
            ends.append(total)
        self.path_ends = ends

    def __getstate__(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setstate__(self, state: tuple[object, ...]) -> None:
        for name, value in zip(self.__slots__, state, strict=True):
            setattr(self, name, value)
