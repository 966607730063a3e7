"""Forked extraction workers: children of a single-threaded process, talking through pipes.

Used by :func:`kagman.archive.workers.run` when forking is safe (see its docstring). Each
process, this one included, writes every k-th batch, in order. A Ctrl-C is held while a
child starts, so none dies halfway through its start.

Children are forked once the plan is made, and inherit it; or, while the archive still
downloads, before (:class:`Preforked`): the download's threads start only after the fork,
and planning then overlaps the download, so the children are sent the plan (the member
table and their batches, pickled) through a pipe. Each waits for a batch's bytes before
writing it (the wait works across the fork: see :class:`~kagman.archive.arrival.Arrival`).
"""

from __future__ import annotations

import binascii
import contextlib
import json
import os
import pickle
import select
import signal
import struct
from pathlib import Path
from typing import NoReturn

from kagman.archive.arrival import Arrival, started, until
from kagman.archive.members import Batch, Members
from kagman.archive.writer import Digests, Progress, Until, write_batch
from kagman.errors import (
    ArchiveError,
    ArchiveTooLargeError,
    CorruptArchiveError,
    DiskFullError,
    UnsafeArchiveError,
    WorkerDiedError,
)

__all__ = ["Preforked", "hold_interrupts", "release_interrupts", "run_forked", "worker_died"]

_Mask = set[int | signal.Signals] | None  # a thread's signal mask, None where there is none


def hold_interrupts() -> _Mask:
    """Hold Ctrl-C in this thread (processes started now inherit it held); return the old mask.

    A Ctrl-C held while a worker starts cannot kill it halfway (in ``os.fork``'s at-fork
    hooks, or before it ignores them); this process gets it on release.
    """
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def release_interrupts(old: _Mask) -> None:
    """Put back the signal mask :func:`hold_interrupts` returned."""
    if old is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class Preforked:
    """Children forked now, before the work is known, each waiting for its share on a pipe.

    Fork while this process has a single thread; :func:`run_forked` sends the shares
    (and then owns those children); :meth:`close` stops those never sent one.
    """

    def __init__(  # noqa: PLR0917 - one caller: extract_zip
        self, count: int, archive: Path, fd: int, root: str, hashes: bool, arrival: Arrival
    ) -> None:
        self.children: list[tuple[int, int, int]] = []  # pid, read end (reports), write end
        for _ in range(count):
            reports, report_end = os.pipe()
            work_end, work = os.pipe()
            held = hold_interrupts()  # released once the child is recorded (killed in close)
            try:
                try:
                    pid = os.fork()  # only from a single-threaded process: see start_method()
                except OSError:  # no memory or process slots left: fewer children
                    for end in (reports, report_end, work_end, work):
                        os.close(end)
                    break
                if pid == 0:  # pragma: no cover - the child; coverage cannot follow it
                    for end in (reports, work, *(e for c in self.children for e in c[1:])):
                        os.close(end)
                    _waiting_child(archive, fd, root, work_end, report_end, hashes, held, arrival)
                os.close(report_end)
                os.close(work_end)
                self.children.append((pid, reports, work))
            finally:
                release_interrupts(held)

    def close(self) -> None:
        """Stop the children still waiting (or working) and reap them (idempotent)."""
        while self.children:
            pid, reports, work = self.children.pop()
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(reports)
            os.close(work)


def _die_on_interrupt() -> None:  # pragma: no cover - runs in the forked child
    """Ctrl-C kills a child (the parent cleans up), unless this process ignores it.

    A child inherits the parent's Python handler, which would raise ``KeyboardInterrupt``
    in the middle of a batch: dying is cleaner. But a ``kagman`` a shell started in the
    background (``kagman pull x &`` in a script) ignores Ctrl-C, and so must its workers,
    or the pull they are part of fails.
    """
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.SIG_DFL)


def _send(out: int, payload: bytes) -> None:
    """One message down a pipe: its length, then its bytes."""
    view = memoryview(struct.pack("<Q", len(payload)) + payload)
    while view:
        view = view[os.write(out, view) :]


def _receive(src: int) -> bytes | None:  # pragma: no cover - runs in the forked child
    """One message from a pipe; None when it is closed first."""
    head = _read_exactly(src, 8)
    return None if head is None else _read_exactly(src, struct.unpack("<Q", head)[0])


def _read_exactly(src: int, size: int) -> bytes | None:  # pragma: no cover - in the child
    chunks, left = [], size
    while left:
        chunk = os.read(src, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _waiting_child(  # noqa: PLR0917  # pragma: no cover - runs in the forked child
    archive: Path,
    fd: int,
    root: str,
    work: int,
    out: int,
    hashes: bool,
    held: _Mask,
    arrival: Arrival,
) -> NoReturn:
    """Wait for a share (or the end of the pipe: nothing to do), then write it."""
    _die_on_interrupt()
    release_interrupts(held)
    table, share = _receive(work), _receive(work)
    if table is None or share is None:
        os._exit(0)
    members, batches = pickle.loads(table), pickle.loads(share)  # noqa: S301 - our parent's
    _child(archive, fd, root, members, batches, out, hashes, None, until(arrival))


def run_forked(  # noqa: PLR0917 - one caller: workers.run
    archive: Path,
    fd: int,
    root: str,
    members: Members,
    batches: list[Batch],
    workers: int,
    progress: Progress,
    digests: Digests,
    arrival: Arrival | None,
    preforked: Preforked | None = None,
) -> None:
    """Split the batches between this process and forked children talking through pipes.

    A child sends ``P<bytes>`` lines as it writes, ``H<hex of the batch's digests>`` once
    per batch (its batches in order, so the parent knows which members they are), and
    ``E<json>`` for its first error. ``preforked`` children (then ``workers`` is one more
    than they are) are sent their shares; otherwise children are forked here.
    """
    shares = [batches[k::workers] for k in range(workers)]
    mine = shares[0]
    hashes = digests.enabled
    children: dict[int, int] = {}  # pipe read end -> pid
    pending: dict[int, bytes] = {}
    todo: dict[int, list[Batch]] = {}  # pipe read end -> batches whose digests are due
    failed: list[Exception] = []
    poller = select.poll()
    try:
        if preforked is not None:  # theirs now: killed and reaped below
            table = pickle.dumps(members, protocol=pickle.HIGHEST_PROTOCOL)
            taken = preforked.children[: workers - 1]  # the rest: closed by their owner
            preforked.children = preforked.children[workers - 1 :]
            for (pid, reports, work), share in zip(taken, shares[1:], strict=True):
                children[reports], pending[reports] = pid, b""
                todo[reports] = share[::-1]  # popped from the end: first batch first
                poller.register(reports, select.POLLIN)
                with contextlib.suppress(BrokenPipeError):  # a dead child: its status says
                    _send(work, table)
                    _send(work, pickle.dumps(share, protocol=pickle.HIGHEST_PROTOCOL))
                os.close(work)
        for share in shares[1:] if preforked is None else []:
            read_end, write_end = os.pipe()
            held = hold_interrupts()  # released once the child is recorded (killed in finally)
            try:
                try:
                    pid = os.fork()  # only ever from a single-threaded process: see start_method()
                except OSError:  # no memory or process slots left: do that share here
                    os.close(read_end)
                    os.close(write_end)
                    mine = mine + share
                    continue
                if pid == 0:  # pragma: no cover - the child; coverage cannot follow it
                    os.close(read_end)
                    wait_for = until(arrival)
                    _child(archive, fd, root, members, share, write_end, hashes, held, wait_for)
                os.close(write_end)
                children[read_end], pending[read_end] = pid, b""
                todo[read_end] = share[::-1]  # popped from the end: first batch first
                poller.register(read_end, select.POLLIN)
            finally:
                release_interrupts(held)

        def poll(timeout: int | None) -> None:
            """Pass children's progress on; keep their first error for the main loop."""
            while pending:
                events = poller.poll(timeout)
                if not events:
                    return
                for read_end, _ in events:
                    chunk = os.read(read_end, 65536)
                    if not chunk:
                        poller.unregister(read_end)
                        del pending[read_end]
                        continue
                    *lines, pending[read_end] = (pending[read_end] + chunk).split(b"\n")
                    for line in lines:
                        if line[:1] == b"P":
                            progress(int(line[1:]))
                        elif line[:1] == b"H":
                            digests.add(todo[read_end].pop(), binascii.a2b_hex(line[1:]))
                        else:
                            failed.append(_decode_error(archive, line))

        def tick(nbytes: int) -> None:
            progress(nbytes)
            poll(0)

        def look() -> None:  # while this process waits for bytes
            poll(0)
            if failed:
                raise failed[0]

        started(arrival)
        wait_for = until(arrival, look)
        for batch in mine:
            found = write_batch(archive, fd, root, members, batch, tick, hashes, wait_for)
            digests.add(batch, found)
            if failed:
                raise failed[0]
        poll(None)
        if failed:
            raise failed[0]
        while children:
            read_end, pid = children.popitem()
            os.close(read_end)
            _, status = os.waitpid(pid, 0)
            if status:
                raise WorkerDiedError(worker_died(archive, status), path=archive)
    finally:
        for read_end, pid in children.items():
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(read_end)


def _child(  # noqa: PLR0917  # pragma: no cover - runs in the forked child
    archive: Path,
    fd: int,
    root: str,
    members: Members,
    batches: list[Batch],
    out: int,
    hashes: bool,
    held: _Mask,
    wait_for: Until | None,
) -> NoReturn:
    """Write ``batches``, reporting progress, digests and the first error down the pipe ``out``."""
    code = 0

    def report(nbytes: int) -> None:
        os.write(out, b"P%d\n" % nbytes)

    try:
        _die_on_interrupt()
        release_interrupts(held)  # a Ctrl-C held since the fork kills this child now
        for batch in batches:
            found = write_batch(archive, fd, root, members, batch, report, hashes, wait_for)
            if hashes:
                _write_all(out, b"H" + binascii.b2a_hex(found) + b"\n")
    except BaseException as err:
        code = 1
        kind = type(err).__name__
        fields = [kind, str(err), getattr(err, "member", None), getattr(err, "errno", None)]
        with contextlib.suppress(BaseException):
            os.write(out, b"E" + json.dumps(fields).encode() + b"\n")
    finally:
        os._exit(code)


def _write_all(out: int, data: bytes) -> None:  # pragma: no cover - runs in the forked child
    """``os.write`` until all of ``data`` is in the pipe (a long line may need several)."""
    view = memoryview(data)
    while view:
        view = view[os.write(out, view) :]


def worker_died(archive: Path, status: int | None = None) -> str:
    """What to say of a worker that ended without reporting (``status`` from ``waitpid``).

    >>> worker_died(Path("v1.zip"), 9)
    'A worker extracting v1.zip was killed (SIGKILL).'
    >>> worker_died(Path("v1.zip"), 1 << 8)
    'A worker extracting v1.zip died (exit status 1).'
    """
    if status is not None and os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            how = f"was killed ({signal.Signals(number).name})"
        except ValueError:  # pragma: no cover - a real-time signal
            how = f"was killed (signal {number})"
    elif status is not None and os.WIFEXITED(status):
        how = f"died (exit status {os.WEXITSTATUS(status)})"
    else:
        how = "died"
    return f"A worker extracting {archive.name} {how}."


def _decode_error(archive: Path, line: bytes) -> Exception:
    """Rebuild in the parent the error a child reported."""
    kind, message, member, number = json.loads(line[1:])
    classes = (CorruptArchiveError, UnsafeArchiveError, ArchiveTooLargeError, ArchiveError)
    for cls in classes:
        if cls.__name__ == kind:
            return cls(message, path=archive, member=member)
    if kind == DiskFullError.__name__:
        return DiskFullError(message, path=archive)
    if number is not None:
        return OSError(number, message)
    return ArchiveError(f"Extracting {archive.name} failed: {kind}: {message}", path=archive)
