"""How a parallel download cuts the bytes it still needs into parts, and its watermark.

Connections take parts in order, so the bytes on disk from the start of the file (the
watermark: what extraction and the MD5 can use) grow as the download goes, not only at
its end. Three rules keep that growth smooth and the connections busy to the end:

- the first round ramps up: the first N parts are 1/N, 2/N, ... N/N of a full part, so
  the connections finish one after another, and stay staggered (N parts of one size
  started together would also finish together, round after round, and the watermark
  would move in jumps of N parts);
- then each connection, when it is free, takes the next part: a full part while much is
  left, then 1/N of what is left (guided self-scheduling), so parts shrink towards the
  end, all connections finish about together, and little lies beyond the watermark when
  the last byte arrives (the MD5 and extraction have little left to do then);
- a part is at least :data:`SMALLEST` (each request costs a round trip) and at most
  :data:`LARGEST`, or ``1/(2N)`` of the whole when that is less::

    connection 1  [1][   4   ][   4   ][ 3 ][2][1]
    connection 2  [ 2 ][   4   ][   4   ][ 3 ][1]   (N = 4; sizes in quarters of a full
    connection 3  [  3 ][   4   ][   4   ][ 2 ][1]   part, shrinking as the end nears;
    connection 4  [   4   ][   4   ][   4   ][2][1]   time runs right)

:class:`PartTable` keeps the parts (each ``[start, end)`` with ``done`` bytes on disk) and
the watermark; :func:`split_evenly` cuts bytes wanted at once (a zip's central directory).
"""

from __future__ import annotations

from dataclasses import dataclass

from kagman.remote.partial import Span

__all__ = ["LARGEST", "SMALLEST", "Part", "PartTable", "split_evenly"]

LARGEST = 32 << 20
SMALLEST = 1 << 20


def split_evenly(gaps: list[tuple[int, int]], count: int) -> list[tuple[int, int]]:
    """Cut ``gaps`` into about ``count`` parts of equal size (bytes wanted all at once).

    >>> split_evenly([(0, 100), (200, 250)], 3)
    [(0, 50), (50, 100), (200, 250)]
    """
    total = sum(end - start for start, end in gaps)
    size = max(1, -(-total // max(1, count)))
    parts = []
    for start, end in gaps:
        parts += [(at, min(end, at + size)) for at in range(start, end, size)]
    return parts


@dataclass
class Part:
    """Bytes ``[start, end)`` of the object, ``done`` of them on disk (from ``start``);
    ``busy`` while a connection fetches it."""

    start: int
    end: int
    done: int = 0
    busy: bool = False

    @property
    def at(self) -> int:
        """The first byte still missing."""
        return self.start + self.done

    @property
    def complete(self) -> bool:
        """Whether every byte of the part is on disk."""
        return self.start + self.done >= self.end


class PartTable:
    """The parts of one object, sorted and covering it, and its watermark.

    Not thread-safe: the download holds its lock around every call.

    >>> table = PartTable(100, None)
    >>> [(p.start, p.end) for p in table.carve([(0, 40), (40, 100)])]
    [(0, 40), (40, 100)]
    >>> table.advance(table.parts[1], 60), table.mark
    (False, 0)
    >>> table.advance(table.parts[0], 40), table.mark
    (True, 100)
    """

    smallest = SMALLEST
    largest = LARGEST

    def __init__(self, size: int, spans: tuple[Span, ...] | None) -> None:
        self.size = size
        self.parts = [Part(*span) for span in spans] if spans else [Part(0, size)]
        self.mark = 0
        self._first = 0  # index of the first incomplete part
        self.full = LARGEST  # the size of a full part (see :meth:`ramp`)
        self._find_mark()

    def spans(self) -> tuple[Span, ...]:
        """The parts as the record stores them."""
        return tuple(Span(p.start, p.end, p.done) for p in self.parts)

    def have(self) -> int:
        """Bytes on disk, all parts together."""
        return sum(p.done for p in self.parts)

    def gaps(self, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
        """The missing bytes of parts that start in ``[start, end)``, as ranges."""
        end = self.size if end is None else end
        return [(p.at, p.end) for p in self.parts if start <= p.start < end and not p.complete]

    def split(self, at: int) -> None:
        """Make ``at`` a boundary between parts (the bytes on disk stay counted).

        >>> table = PartTable(10, (Span(0, 10, 6),))
        >>> table.split(4); table.split(8); table.spans()
        (Span(start=0, end=4, done=4), Span(start=4, end=8, done=2), Span(start=8, end=10, done=0))
        """
        for i, p in enumerate(self.parts):
            if p.start < at < p.end:
                head = at - p.start
                tail = Part(at, p.end, p.done - head if p.done > head else 0)
                self.parts[i : i + 1] = [Part(p.start, at, min(p.done, head), p.busy), tail]
                self._first = 0
                self._find_mark()
                return

    def carve(self, pieces: list[tuple[int, int]]) -> list[Part]:
        """Split the parts along ``pieces`` (missing ranges); return their parts, in order."""
        for start, end in pieces:
            self.split(start)
            self.split(end)
        wanted = set(pieces)
        return [p for p in self.parts if (p.start, p.end) in wanted]

    def ramp(self, connections: int) -> list[Part]:
        """The first round of parts (sizes ``1/N ... N/N`` of a full part, from the start of
        the object, so their bounds do not depend on what is on disk), where bytes are
        missing; what follows is taken by :meth:`take`.

        >>> table = PartTable(1600, (Span(0, 1600, 50),))
        >>> table.smallest = 10
        >>> [(p.start, p.end) for p in table.ramp(2)], table.full
        ([(50, 200), (200, 600)], 400)
        """
        n = max(1, connections)
        self.full = max(1, min(self.largest, max(self.smallest, self.size // (2 * n))))
        if n == 1:
            return []
        pieces: list[tuple[int, int]] = []
        gaps, bound = self.gaps(), 0
        for k in range(n):
            low, bound = bound, min(self.size, bound + max(1, self.full * (k + 1) // n))
            pieces += [(max(a, low), min(b, bound)) for a, b in gaps if a < bound and b > low]
        return self.carve(pieces)

    def take(self, connections: int) -> Part | None:
        """The next part for a free connection (marked busy), or None when none is left.

        A full part while much is left, then ``1/N`` of what is left (at least
        :attr:`smallest`): parts shrink towards the end. One connection takes all of it.

        >>> table = PartTable(1000, None)
        >>> table.smallest, table.full = 10, 300
        >>> [p.start for p in iter(lambda: table.take(2), None)]
        [0, 300, 600, 800, 900, 950, 975, 987]
        """
        free = [p for p in self.parts if not p.busy and not p.complete]
        if not free:
            return None
        part = free[0]
        left = sum(p.end - p.at for p in free)
        if connections <= 1:
            size = part.end - part.at
        else:
            size = min(self.full, max(self.smallest, left // connections))
        if part.end - part.at > size + self.smallest // 2:
            self.split(part.at + size)
            part = next(p for p in self.parts if p.end == part.at + size)
        part.busy = True
        return part

    def advance(self, part: Part, nbytes: int) -> bool:
        """Count ``nbytes`` more of ``part`` on disk; return whether the watermark moved."""
        part.done += nbytes
        parts = self.parts
        if self._first >= len(parts) or parts[self._first] is not part:
            return False
        self._find_mark()
        return True

    def _find_mark(self) -> None:
        parts, i = self.parts, self._first
        while i < len(parts) and parts[i].complete:
            i += 1
        self._first = i
        self.mark = parts[i].at if i < len(parts) else self.size
