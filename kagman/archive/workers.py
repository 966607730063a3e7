"""Who writes which batch: this process alone, or with worker processes on the other cores.

Extraction is bound by one system call per file (``open``/``write``/``close``), so
it scales with processes, not threads (threads queue on the GIL at every call).
How the workers start is chosen from the figures of ``benchmarks/bench_extract.py``
(30,000 small JPEGs on tmpfs, 2 cores, two workers; time relative to one process,
the range over three runs):

===============================  =========  =======================================
start method                     time       safe when this process has threads?
===============================  =========  =======================================
``fork`` (+ this process)        0.67-0.71  no: a lock another thread held at the
                                            fork stays held forever in the child
``forkserver`` (+ this process)  0.75-0.81  yes: children fork from a clean server
``spawn`` (+ this process)       0.81-0.85  yes: children are fresh interpreters
two threads                      0.91       yes, but barely faster than one process
===============================  =========  =======================================

So: ``fork`` when this process has a single thread (the ``kagman`` command),
``forkserver`` on Linux when it has more (a Jupyter kernel, a program with a
progress monitor or a server thread), ``spawn`` elsewhere. Python 3.12 warns
about ``fork`` with threads for exactly this reason; kagman never forks then.
Pool workers take tasks from the front while this process takes them from the
back, so the slower start of a pool costs only what this process cannot cover.
"""

from __future__ import annotations

import binascii
import contextlib
import json
import os
import select
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, NoReturn

from kagman.archive.members import Batch, Members
from kagman.archive.writer import DIGEST_SIZE, Progress, write_batch
from kagman.errors import (
    ArchiveError,
    ArchiveTooLargeError,
    CorruptArchiveError,
    DiskFullError,
    UnsafeArchiveError,
)

__all__ = ["StartMethod", "run", "start_method"]

StartMethod = Literal["fork", "forkserver", "spawn"]
_Mask = set[int | signal.Signals] | None  # a thread's signal mask, None where there is none
_BATCHES_PER_TASK = 2  # a pool task: <= 2 MiB or 512 members (1, 2 and 4 measured; 2 was best)


def thread_count() -> int:
    """Threads of this process as the OS counts them (C threads too), where it can tell."""
    try:
        with open("/proc/self/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return int(fields[17])  # field 20, num_threads; fields[0] is field 3
    except (OSError, ValueError, IndexError):
        return threading.active_count()


def start_method() -> StartMethod:
    """How worker processes start here and now (see the module docstring)."""
    if sys.platform.startswith("linux") and hasattr(os, "fork"):
        return "fork" if thread_count() == 1 else "forkserver"
    return "spawn"


def run(
    archive: Path,
    fd: int,
    root: str,
    members: Members,
    batches: list[Batch],
    *,
    workers: int,
    progress: Progress,
    method: StartMethod | None = None,
    hashes: bool = True,
) -> bytearray:
    """Write every batch of ``members``, split over ``workers`` processes (this one included).

    ``fd`` is the archive, open for reading; ``root`` is the target folder;
    ``method`` overrides :func:`start_method` (benchmarks compare them). The
    first error wins, and nothing writes into ``root`` after this returns or
    raises: forked children are killed and reaped, pool tasks are cancelled or
    waited for.

    Returns
    -------
    bytearray
        The SHA-256 digest of each member written, computed where it was written:
        ``DIGEST_SIZE`` bytes per member, by member index (zeros for members not in
        ``batches``; empty when ``hashes`` is false).
    """
    workers = max(1, min(workers, len(batches)))
    digests = Digests(hashes, len(members))
    if workers == 1:
        for batch in batches:
            digests.add(batch, write_batch(archive, fd, root, members, batch, progress, hashes))
        return digests.found
    method = method or start_method()
    if method == "fork":
        _run_forked(archive, fd, root, members, batches, workers, progress, digests)
    else:
        _run_pooled(archive, fd, root, members, batches, workers, progress, method, digests)
    return digests.found


class Digests:
    """The digests each batch's writer returns, in one array by member index."""

    def __init__(self, enabled: bool, count: int) -> None:
        self.enabled = enabled
        self.found = bytearray(DIGEST_SIZE * count if enabled else 0)

    def add(self, batch: Batch, digests: bytes) -> None:
        if self.enabled:
            if len(digests) != DIGEST_SIZE * (batch.stop - batch.start):  # never resize
                msg = f"A worker sent {len(digests)} bytes of digests for {batch}."
                raise ArchiveError(msg)
            self.found[DIGEST_SIZE * batch.start : DIGEST_SIZE * batch.stop] = digests


# --- a pool of fresh processes (forkserver, spawn) ---------------------------------------------


def _job(
    archive: str, root: str, members: Members, batches: list[Batch], hashes: bool
) -> tuple[int, list[bytes]]:
    """A pool task: write ``batches``; return the bytes written and each batch's digests."""
    fd = os.open(archive, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    done = 0
    digests: list[bytes] = []

    def count(nbytes: int) -> None:
        nonlocal done
        done += nbytes

    try:
        for batch in batches:
            digests.append(write_batch(Path(archive), fd, root, members, batch, count, hashes))
    finally:
        os.close(fd)
    return done, digests


def _ignore_interrupts() -> None:
    """Pool workers leave Ctrl-C to this process, which cancels their tasks and cleans up.

    A notebook's interrupt button (like a terminal's Ctrl-C) signals the whole process
    group; a worker that died of it would break the pool, and Python 3.11's pool then
    fails on the tasks this process had claimed and hangs at exit.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _hold_interrupts() -> _Mask:
    """Hold Ctrl-C in this thread (processes started now inherit it held); return the old mask.

    A Ctrl-C held while a worker starts cannot kill it halfway (in ``os.fork``'s at-fork
    hooks, or before :func:`_ignore_interrupts`); this process gets it on release.
    """
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def _release_interrupts(old: _Mask) -> None:
    if old is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C while pool workers (and a forkserver started now) start."""
    old = _hold_interrupts()
    try:
        yield
    finally:
        _release_interrupts(old)


def _task(members: Members, batches: list[Batch]) -> tuple[Members, list[Batch]]:
    """What a pool task is sent: its members alone, and its batches renumbered to match."""
    first = batches[0].start
    part = members.section(first, batches[-1].stop)
    return part, [b._replace(start=b.start - first, stop=b.stop - first) for b in batches]


def _run_pooled(  # noqa: PLR0917 - private, one caller
    archive: Path,
    fd: int,
    root: str,
    members: Members,
    batches: list[Batch],
    workers: int,
    progress: Progress,
    method: StartMethod,
    digests: Digests,
) -> None:
    import multiprocessing
    from concurrent.futures import Future, ProcessPoolExecutor

    tasks = [batches[i : i + _BATCHES_PER_TASK] for i in range(0, len(batches), _BATCHES_PER_TASK)]
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(
        workers - 1, mp_context=context, initializer=_ignore_interrupts
    ) as pool:
        hashes = digests.enabled
        futures: list[Future[Any]] = []
        reported = 0  # futures before this index have had their bytes reported

        def collect(i: int) -> None:
            done, found = futures[i].result()  # raises a worker's error
            progress(done)
            for batch, batch_digests in zip(tasks[i], found, strict=True):
                digests.add(batch, batch_digests)

        try:
            with _interrupts_held():
                futures = [
                    pool.submit(_job, os.fspath(archive), root, *_task(members, task), hashes)
                    for task in tasks
                ]
            for i in range(len(tasks) - 1, -1, -1):
                if not futures[i].cancel():
                    break  # the pool has reached this task: the rest is the pool's
                for batch in tasks[i]:
                    found = write_batch(archive, fd, root, members, batch, progress, hashes)
                    digests.add(batch, found)
                while reported < i and futures[reported].done():
                    collect(reported)
                    reported += 1
            for i in range(reported, len(futures)):
                if not futures[i].cancelled():
                    collect(i)
        except BaseException:
            for future in futures:
                future.cancel()
            raise


# --- forked children (only from a single-threaded process) ---------------------------------------


def _run_forked(  # noqa: PLR0917 - private, one caller
    archive: Path,
    fd: int,
    root: str,
    members: Members,
    batches: list[Batch],
    workers: int,
    progress: Progress,
    digests: Digests,
) -> None:
    """Split the batches between this process and forked children talking through pipes.

    A child sends ``P<bytes>`` lines as it writes, ``H<hex of the batch's digests>`` once
    per batch (its batches in order, so the parent knows which members they are), and
    ``E<json>`` for its first error.
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
        for share in shares[1:]:
            read_end, write_end = os.pipe()
            held = _hold_interrupts()  # released once the child is recorded (killed in finally)
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
                    _child(archive, fd, root, members, share, write_end, hashes, held)
                os.close(write_end)
                children[read_end], pending[read_end] = pid, b""
                todo[read_end] = share[::-1]  # popped from the end: first batch first
                poller.register(read_end, select.POLLIN)
            finally:
                _release_interrupts(held)

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

        for batch in mine:
            digests.add(batch, write_batch(archive, fd, root, members, batch, tick, hashes))
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
                msg = f"A worker extracting {archive.name} died ({status:#x}). Try again."
                raise ArchiveError(msg, path=archive)
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
) -> NoReturn:
    """Write ``batches``, reporting progress, digests and the first error down the pipe ``out``."""
    code = 0

    def report(nbytes: int) -> None:
        os.write(out, b"P%d\n" % nbytes)

    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C: just die; the parent cleans up
        _release_interrupts(held)  # a Ctrl-C held since the fork kills this child now
        for batch in batches:
            found = write_batch(archive, fd, root, members, batch, report, hashes)
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
