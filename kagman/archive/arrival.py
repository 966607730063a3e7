"""An archive still arriving: extraction that waits for each batch's bytes to be on disk.

:func:`~kagman.archive.extract.extract_zip` takes an :class:`Arrival` when the archive is
being downloaded into its file as it runs: planning reads the archive's end through
``read`` (which fetches those bytes first), and every batch waits, in whichever process
writes it, until its bytes are on disk (``wait``). The caller's download knows nothing of
zips; this package knows nothing of HTTP: ``read``, ``wait`` and ``begin`` are all they
share.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kagman.archive.writer import Until
from kagman.archive.zipformat import Reader

__all__ = ["POLL", "Arrival", "Wait", "started", "until"]

Wait = Callable[[int, "float | None"], bool]
"""``wait(n, timeout)``: True once the archive's first ``n`` bytes are on disk, False when
``timeout`` seconds passed first (None: no limit); raises when they never will be. It
must also work in a process forked from the caller's."""
POLL = 0.05  # seconds the extracting process waits for bytes before it looks at its workers


@dataclass
class Arrival:
    """An archive being downloaded into the file being extracted.

    ``read(offset, length)`` returns the archive's bytes, fetching them first if need be
    (only the end records and the central directory are read through it); ``size`` is
    the archive's size; ``wait`` see :data:`Wait`; ``begin()`` is called once, when the
    extraction workers exist (so that worker processes are forked before the download
    starts its threads); ``reserve`` is the bytes the download will still write on the
    same disk (checked for room with the extracted files).
    """

    read: Reader
    size: int
    wait: Wait
    begin: Callable[[], object]
    reserve: int = 0
    _begun: bool = False


def started(arrival: Arrival | None) -> None:
    """The workers exist: let the download start (once)."""
    if arrival is not None and not arrival._begun:
        arrival._begun = True
        arrival.begin()


def until(arrival: Arrival | None, meanwhile: Callable[[], object] | None = None) -> Until | None:
    """A blocking wait for byte ``n`` of ``arrival``, doing ``meanwhile`` every :data:`POLL`
    seconds; None for an archive already on disk."""
    if arrival is None:
        return None
    wait = arrival.wait

    def wait_for(n: int) -> None:
        while not wait(n, None if meanwhile is None else POLL):
            if meanwhile is not None:
                meanwhile()

    return wait_for
