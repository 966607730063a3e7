"""What an extraction wrote: :class:`ExtractReport`, kept as compact as the plan it came from.

The list of files is not built: :class:`ExtractedFiles` reads the plan's
:class:`~kagman.archive.members.Members` table, its path order and the digests the
workers returned (32 bytes a member), and makes each :class:`ExtractedFile` when it
is asked for, so the manifest of a 300,000-file pull is written row by row without a
second copy of the list.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, overload

from kagman.archive.members import Members

__all__ = ["ExtractReport", "ExtractedFile", "ExtractedFiles"]

_DIGEST_SIZE = 32


class ExtractedFile(NamedTuple):
    """One file written: its posix path under the target, size in bytes, SHA-256 hex digest.

    ``sha256`` is computed from the bytes as they were written, by the process that
    wrote them; ``""`` when hashing was turned off.
    """

    path: str
    size: int
    sha256: str


class ExtractedFiles(Sequence[ExtractedFile]):
    """The files written, sorted by path; each :class:`ExtractedFile` made when read."""

    __slots__ = ("_digests", "_members", "_order")

    def __init__(
        self,
        members: Members | None = None,
        order: Sequence[int] | None = None,
        digests: bytes | bytearray = b"",
    ) -> None:
        self._members = Members(0) if members is None else members
        self._order = range(len(self._members)) if order is None else order
        self._digests = digests  # _DIGEST_SIZE bytes per member, by member index; or empty

    def __len__(self) -> int:
        return len(self._members)

    def _file(self, i: int) -> ExtractedFile:
        at = _DIGEST_SIZE * i
        digest = self._digests[at : at + _DIGEST_SIZE].hex() if self._digests else ""
        return ExtractedFile(self._members.path(i), self._members.usizes[i], digest)

    @overload
    def __getitem__(self, index: int) -> ExtractedFile: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[ExtractedFile, ...]: ...

    def __getitem__(self, index: int | slice) -> ExtractedFile | tuple[ExtractedFile, ...]:
        if isinstance(index, slice):
            return tuple(self._file(self._order[i]) for i in range(len(self))[index])
        return self._file(self._order[range(len(self))[index]])

    def __iter__(self) -> Iterator[ExtractedFile]:
        members, digests, make = self._members, self._digests, ExtractedFile
        paths, ends, usizes = members.paths, members.path_ends, members.usizes
        raw = memoryview(digests)
        for i in self._order:
            path = paths[ends[i - 1] if i else 0 : ends[i]].decode()
            at = _DIGEST_SIZE * i
            yield make(path, usizes[i], raw[at : at + _DIGEST_SIZE].hex() if digests else "")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # like list: equal to any equal sequence

    def __repr__(self) -> str:
        head = ", ".join(repr(f) for f in self[:3])
        more = f", ... {len(self) - 3:,} more" if len(self) > 3 else ""
        return f"ExtractedFiles([{head}{more}])"


@dataclass(frozen=True)
class ExtractReport:
    """What :func:`~kagman.archive.extract_zip` wrote, and what it skipped.

    ``files`` yields an :class:`ExtractedFile` ``(path, size, sha256)`` per file, sorted
    by path; ``skipped`` counts the members not written, by reason.
    """

    files: Sequence[ExtractedFile] = ()
    total_bytes: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def skipped_count(self) -> int:
        """How many members were skipped, for every reason."""
        return sum(self.skipped.values())

    @property
    def sha256(self) -> dict[str, str]:
        """Posix path -> SHA-256 hex digest of each file (empty when hashing was off).

        Builds a dict of every file: for small archives and tests; iterate
        :attr:`files` to stream.
        """
        return {f.path: f.sha256 for f in self.files if f.sha256}
