"""How a parallel download cuts the bytes it still needs into parts: pure arithmetic.

Connections take parts in order, so the bytes on disk from the start of the file (what
extraction and the MD5 can use) grow as the download goes, not only at its end. If all
connections started parts of the same size together, they would also finish together,
round after round, and that prefix would grow in jumps of ``connections`` parts. So the
first round ramps up (parts of 1/N, 2/N, ... N/N of a full part: the connections finish
one after another and stay staggered), and the last round ramps down (N/N ... 1/N: the
connection that frees first takes the biggest, so all of them finish together and none
idles at the end)::

    connection 1  [1][    5    ][    5    ][4 ]
    connection 2  [ 2 ][    5    ][    5    ][3]     (N = 5: part sizes in fifths of
    connection 3  [  3 ][    5    ][    5    ][2]      a full part; time runs right)
    ...

A full part is at most :data:`LARGEST` bytes (each request costs a round trip: bigger
parts waste less of it), and at least :data:`SMALLEST`. :class:`PartTable` keeps the
parts and the watermark (the bytes on disk from the start of the file, without a gap).
"""

from __future__ import annotations

from dataclasses import dataclass

from kagman.remote.partial import Span

__all__ = ["LARGEST", "SMALLEST", "Part", "PartTable", "plan_parts"]

LARGEST = 16 << 20
SMALLEST = 64 << 10


def _sizes(total: int, connections: int, largest: int, smallest: int) -> list[int]:
    """Part sizes, in the order connections take them, adding up to ``total``.

    >>> _sizes(900, 2, 300, 10)
    [150, 300, 300, 150]
    >>> _sizes(40, 4, 1000, 10)
    [10, 10, 10, 10]
    >>> _sizes(905, 2, 300, 10)
    [150, 305, 300, 150]
    """
    full = min(largest, max(smallest, total // (connections + 1)))
    ramp = [max(smallest, full * (k + 1) // connections) for k in range(connections)]
    middle = total - 2 * sum(ramp)
    if middle < 0:  # too little for two ramps: equal parts, one per connection at most
        count = max(1, min(connections, total // smallest))
        return [total // count + (1 if k < total % count else 0) for k in range(count)]
    if middle < smallest:  # a crumb: the biggest part of the first round takes it
        return [*ramp[:-1], ramp[-1] + middle, *reversed(ramp)]
    count = -(-middle // full)
    middles = [middle // count + (1 if k < middle % count else 0) for k in range(count)]
    return [*ramp, *middles, *reversed(ramp)]


def plan_parts(
    gaps: list[tuple[int, int]],
    connections: int,
    *,
    largest: int = LARGEST,
    smallest: int = SMALLEST,
) -> list[tuple[int, int]]:
    """Cut the byte ranges ``gaps`` (``[start, end)``, in order) into parts, in order.

    One connection takes each gap whole (no request is worth splitting for it alone).

    >>> plan_parts([(0, 900)], 2, largest=300, smallest=10)
    [(0, 150), (150, 450), (450, 750), (750, 900)]
    >>> plan_parts([(0, 100), (200, 250)], 1)
    [(0, 100), (200, 250)]
    >>> plan_parts([(0, 50), (60, 100)], 2, largest=1000, smallest=10)
    [(0, 15), (15, 45), (45, 50), (60, 85), (85, 100)]
    """
    if connections <= 1:
        return [(start, end) for start, end in gaps if end > start]
    total = sum(end - start for start, end in gaps)
    cuts, at = set(), 0  # where parts end, counted in missing bytes
    for size in _sizes(total, connections, largest, smallest) if total else []:
        at += size
        cuts.add(at)
    parts: list[tuple[int, int]] = []
    seen = 0  # missing bytes before the current gap
    for start, end in gaps:
        begin = start
        for cut in sorted(c for c in cuts if seen < c < seen + end - start):
            parts.append((begin, start + cut - seen))
            begin = start + cut - seen
        if end > begin:
            parts.append((begin, end))
        seen += end - start
    return parts


@dataclass
class Part:
    """Bytes ``[start, end)`` of the object, ``done`` of them on disk (from ``start``)."""

    start: int
    end: int
    done: int = 0

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

    Not thread-safe: the download holds its lock around every call. Parts are split only
    while no request is running (:meth:`carve`).

    >>> table = PartTable(100, None)
    >>> [(p.start, p.end) for p in table.carve([(0, 40), (40, 100)])]
    [(0, 40), (40, 100)]
    >>> table.advance(table.parts[1], 60), table.mark
    (False, 0)
    >>> table.advance(table.parts[0], 40), table.mark
    (True, 100)
    """

    def __init__(self, size: int, spans: tuple[Span, ...] | None) -> None:
        self.size = size
        self.parts = [Part(*span) for span in spans] if spans else [Part(0, size)]
        self.mark = 0
        self._first = 0  # index of the first incomplete part
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
                self.parts[i : i + 1] = [Part(p.start, at, min(p.done, head)), tail]
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
