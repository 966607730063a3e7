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

While the archive still downloads (``wait`` given), every process waits before each
batch until its bytes are on disk: forked children take every k-th batch, in order,
and wait on their own (``begin``, which starts the download's threads, runs once they
are forked, so this process forks while it has one thread); a pool is handed each task
when its bytes are there, and this process takes tasks from the back only once the
whole archive is.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from kagman.archive.arrival import Arrival, started, until
from kagman.archive.forked import (
    Preforked,
    hold_interrupts,
    release_interrupts,
    run_forked,
    worker_died,
)
from kagman.archive.members import Batch, Members
from kagman.archive.writer import Digests, Progress, write_batch
from kagman.errors import WorkerDiedError

__all__ = ["StartMethod", "run", "settled", "start_method"]

StartMethod = Literal["fork", "forkserver", "spawn"]
_BATCHES_PER_TASK = 2  # a pool task: <= 2 MiB or 512 members (1, 2 and 4 measured; 2 was best)


def thread_count() -> int:
    """Threads of this process as the OS counts them (C threads too), where it can tell."""
    try:
        with open("/proc/self/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return int(fields[17])  # field 20, num_threads; fields[0] is field 3
    except (OSError, ValueError, IndexError):
        return threading.active_count()


def settled(timeout: float = 0.2) -> bool:
    """Whether this process is down to one thread, waiting up to ``timeout`` seconds.

    A thread just joined may still exist for the OS for a moment (``join`` returns when
    its Python work is done), and :func:`start_method` asks the OS.
    """
    deadline = time.monotonic() + timeout
    while thread_count() > 1:
        if threading.active_count() > 1 or time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


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
    arrival: Arrival | None = None,
    preforked: Preforked | None = None,
) -> bytearray:
    """Write every batch of ``members``, split over ``workers`` processes (this one included).

    ``fd`` is the archive, open for reading; ``root`` is the target folder;
    ``method`` overrides :func:`start_method` (benchmarks compare them). The
    first error wins, and nothing writes into ``root`` after this returns or
    raises: forked children are killed and reaped, pool tasks are cancelled or
    waited for. An ``arrival`` (an archive still downloading) is waited for before
    each batch, and started once the workers exist; ``preforked`` children, forked
    before it started, are the workers then (``method`` is ``fork``).

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
        started(arrival)
        wait_for = until(arrival)
        for batch in batches:
            found = write_batch(archive, fd, root, members, batch, progress, hashes, wait_for)
            digests.add(batch, found)
        return digests.found
    method = method or start_method()
    if preforked is not None:
        method, workers = "fork", min(workers, len(preforked.children) + 1)
    if method == "fork":
        forked = (archive, fd, root, members, batches, workers)
        run_forked(*forked, progress, digests, arrival, preforked)
    else:
        tasks = (archive, fd, root, members, batches, workers)
        _run_pooled(*tasks, progress, method, digests, arrival)
    return digests.found


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


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C while pool workers (and a forkserver started now) start."""
    old = hold_interrupts()
    try:
        yield
    finally:
        release_interrupts(old)


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
    arrival: Arrival | None,
) -> None:
    import multiprocessing
    from concurrent.futures import Future, ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    tasks = [batches[i : i + _BATCHES_PER_TASK] for i in range(0, len(batches), _BATCHES_PER_TASK)]
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(
        workers - 1, mp_context=context, initializer=_ignore_interrupts
    ) as pool:
        hashes = digests.enabled
        futures: list[Future[Any]] = []
        reported = 0  # futures before this index have had their bytes reported

        def collect(i: int) -> None:
            try:
                done, found = futures[i].result()  # raises a worker's error
            except BrokenProcessPool as err:  # a worker killed (the OOM killer, kill -9)
                raise WorkerDiedError(worker_died(archive), path=archive) from err
            progress(done)
            for batch, batch_digests in zip(tasks[i], found, strict=True):
                digests.add(batch, batch_digests)

        def submit(task: list[Batch]) -> None:
            with _interrupts_held():
                futures.append(
                    pool.submit(_job, os.fspath(archive), root, *_task(members, task), hashes)
                )

        def collect_done() -> None:
            nonlocal reported
            while reported < len(futures) and futures[reported].done():
                collect(reported)
                reported += 1

        try:
            started(arrival)
            wait_for = until(arrival, collect_done)
            for task in tasks:  # the pool's from the front, each once its bytes are here
                if wait_for is not None:
                    wait_for(task[-1].end)
                submit(task)
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
