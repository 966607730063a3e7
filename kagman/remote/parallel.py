"""A download in parts over several connections, each part resumable, all of one object.

When the storage answers ``Accept-Ranges: bytes`` and the object is big enough
(:mod:`kagman.remote.transfer` decides), the object is fetched as parts
(:mod:`kagman.remote.parts`) by ``KAGMAN_CONNECTIONS`` threads, each with its own
keep-alive connection, into a file of the object's full size. Like pip's
``network/lazy_wheel.py`` (a sparse file and the intervals already fetched),
:meth:`RangedDownload.read` fetches the bytes a reader needs before the rest (a zip's
end records and central directory: the last part is asked for with a suffix range,
``Range: bytes=-N``).

Every request carries ``If-Range: <ETag>``: a 200 means the object changed (or, under the
same ETag, the server ignores ``Range``), a 206 that names another MD5 in ``x-goog-hash``
is another object under the same ETag, a 416 an object that shrank: the download then
starts over (:class:`~kagman.remote.answers.Restart`), never splicing two objects. Each
206 is checked as on one connection (``Content-Range`` where asked, its length, no body
past it); a part that drops or times out is retried from its own last byte.

What is on disk from the start of the file (:mod:`kagman.remote.watermark`) grows as
parts complete in order; :meth:`RangedDownload.wait` waits for it, also in a worker
forked from this process. The MD5 follows it in a thread of its own, so the check at the
end costs only the last parts. The record (``<part>.json``) lists the parts and their
progress; it is saved as parts complete and every second, never ahead of the bytes
written, so a killed download resumes every part where the record says.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from kagman.errors import DiskFullError
from kagman.fs import counted, ensure_free_space, human_size
from kagman.remote.answers import (
    TIMEOUT,
    DownloadResult,
    Mismatch,
    Restart,
    classify,
    give_up,
    judge_range,
    wake,
)
from kagman.remote.partial import (
    BodyOverrun,
    PartialInfo,
    Progress,
    Span,
    body_chunks,
    discard_partial,
    write_at,
    write_info,
)
from kagman.remote.parts import Part, PartTable, split_evenly
from kagman.remote.retry import with_retries
from kagman.remote.watermark import TrailingMD5, Watermark

if TYPE_CHECKING:
    import requests

__all__ = ["RangedDownload"]

logger = logging.getLogger(__name__)
_SAVE_EVERY = 1.0  # seconds between saves of the record while parts progress
_READ_PART = 128 << 10  # what a read first fetches goes over a connection per 128 KiB


class RangedDownload:
    """One object fetched in parts into ``part`` (see the module docstring).

    Use it as a context manager: leaving it stops the threads and saves the record (or,
    after a full disk or a change of the object, removes the partial file). In order:
    :meth:`read` what is needed first (optional), :meth:`start`, :meth:`wait` for bytes
    (optional), :meth:`finish`.
    """

    def __init__(
        self,
        part: Path,
        offer: PartialInfo,
        spans: tuple[Span, ...] | None,
        *,
        connections: int,
        progress: Progress | None,
        what: str,
        host: str,
    ) -> None:
        if offer.total is None:
            msg = "a download in parts needs the object's size"
            raise ValueError(msg)
        self.path = part
        self.offer = offer
        self.size = offer.total
        self.connections = max(1, connections)
        self.what = what
        self.host = host
        self._progress = progress
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._report_lock = threading.Lock()
        self._save_lock = threading.Lock()
        self._table = PartTable(self.size, spans)
        self._queue: list[Part] = []
        self._more = False  # once the queue is empty, workers take parts from the table
        self._threads: list[threading.Thread] = []
        self._active = 0  # workers running
        self._responses: set[requests.Response] = set()
        self._sessions: list[requests.Session] = []  # idle, their connections kept alive
        self._error: BaseException | None = None
        self._stopping = self._discard = self._closed = self._finished = False
        self._mark = Watermark(self._cond)
        self._hasher: TrailingMD5 | None = None
        self._initial = self._table.have()
        ensure_free_space(part.parent, self.size - self._initial, what=f"the download of {what}")
        self._fd = os.open(part, os.O_RDWR | os.O_CREAT, 0o644)
        if spans is None:
            os.ftruncate(self._fd, 0)  # nothing of it is ours: zeroes, then a sparse file
        if os.fstat(self._fd).st_size != self.size:
            os.ftruncate(self._fd, self.size)
        with self._lock:
            self._publish()
        self._saved = 0.0
        self._started = time.monotonic()
        self._save()

    # --- the caller's side ----------------------------------------------------------------

    def __enter__(self) -> RangedDownload:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def error(self) -> BaseException | None:
        """What made the download fail, if it failed."""
        return self._error

    def have(self) -> int:
        """Bytes on disk, all parts together."""
        with self._lock:
            return self._table.have()

    def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes at ``offset`` (fewer at the end), fetched first if need be.

        Called before :meth:`start`, from one thread. The bytes are fetched over up to
        ``connections`` connections (about 128 KiB each, at least), then read from disk.
        """
        end = min(offset + length, self.size)
        if offset >= end:
            return b""
        with self._lock:
            table = self._table
            table.split(offset)
            table.split(end)
            gaps = table.gaps(offset, end)
            missing = sum(b - a for a, b in gaps)
            count = min(self.connections, max(1, missing // _READ_PART))
            todo = table.carve(split_evenly(gaps, count))
            self._publish()
        if len(todo) == 1:  # in this thread: no thread to wait for before a fork
            with self._lock:
                self._active += 1
                todo[0].busy = True
            session = self._session()
            try:
                self._fetch_part(todo[0], session)
            except BaseException as err:
                self._fail(err)
            finally:
                with self._lock:
                    self._active -= 1
                    self._sessions.append(session)
            self._raise_failure()
        elif todo:
            self._run(todo)
            self._join()
            self._raise_failure()
        return os.pread(self._fd, end - offset, offset)

    def start(self) -> None:
        """Fetch every missing byte, over ``connections`` threads; hash behind the watermark.

        Parts as :mod:`kagman.remote.parts` cuts them: a first round that ramps up, then
        each free connection takes the next part, smaller as the end nears.
        """
        with self._lock:
            todo = self._table.ramp(self.connections)
            self._publish()
        self._started = time.monotonic()
        if self.offer.md5 is not None:
            stopped = lambda: self._stopping  # noqa: E731 - read at every wake-up
            self._hasher = TrailingMD5(self._fd, self.size, self._mark, stopped, self._fail)
            self._hasher.start()
        self._run(todo, more=True)

    def wait(self, n: int, timeout: float | None = None) -> bool:
        """Whether the first ``n`` bytes are on disk, waiting up to ``timeout`` seconds.

        Raises the download's failure, if it failed. In a process forked from this one
        (an extraction worker) it polls the shared watermark, and exits if orphaned.
        """
        return self._mark.wait(n, timeout, self._check)

    def _check(self) -> None:
        """Raise when the bytes waited for will never come (the lock is held)."""
        if self._error is not None:
            raise self._error
        if not self._active:
            msg = f"the download of {self.what} stopped at byte {self._mark.value:,}"
            raise RuntimeError(msg)

    def finish(self) -> DownloadResult:
        """Wait for every part, then check the MD5; record that the file passed.

        Raises
        ------
        NetworkError, ServerError, DiskFullError
            A part failed for good (its bytes are kept, except on a full disk).
        """
        table = self._table
        with self._cond:
            while table.mark < self.size and self._error is None and self._active:
                self._cond.wait()
        self._join()
        self._raise_failure()
        took = time.monotonic() - self._started
        logger.debug(
            "%s: %s in %.2f s over %s (%.1f MB/s)",
            self.what,
            human_size(self.size - self._initial),
            took,
            counted(self.connections, "connection"),
            (self.size - self._initial) / max(took, 1e-6) / 1e6,
        )
        if table.mark < self.size:  # pragma: no cover - the workers end only when done
            msg = f"the download of {self.what} stopped at byte {table.mark:,}"
            raise RuntimeError(msg)
        offer = self.offer
        os.fsync(self._fd)
        if self._hasher is not None:
            self._hasher.join()
            self._raise_failure()
            got = self._hasher.md5.b64digest()
            if got != offer.md5:
                self._discard = True
                msg = f"expected {offer.md5}, got {got}"
                raise Mismatch(msg)
            size = f"{self.size:,}"
            logger.debug("%s: MD5 verified (%s bytes, x-goog-hash)", self.what, size)
        self._finished = True
        spans = table.spans()
        write_info(self.path, replace(offer, verified=offer.md5 is not None, parts=spans))
        return DownloadResult(
            self.path, self.size, offer.url, offer.validator, offer.md5, self.host
        )

    def stop(self) -> None:
        """Stop the threads and keep the record (idempotent); remove what cannot be kept."""
        with self._cond:
            if self._closed:
                return
            self._stopping = True
            self._cond.notify_all()
            responses = list(self._responses)
        for response in responses:
            wake(response)
        threads = [*self._threads, *([self._hasher] if self._hasher else [])]
        for thread in threads:
            thread.join(timeout=5)
        stuck = any(thread.is_alive() for thread in threads)
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        if self._discard:
            discard_partial(self.path)
        elif not self._finished:
            try:
                self._save(force=True)
            except OSError as err:  # the folder went away: say why the pull failed, not this
                logger.debug("Could not save the record of %s: %s", self.what, err)
        self._closed = True
        if not stuck:  # a thread still in a system call would write into a reused descriptor
            os.close(self._fd)
            self._mark.close()

    # --- the parts --------------------------------------------------------------------------

    def _publish(self) -> None:
        """Move the watermark to the table's (under the lock)."""
        self._mark.set(self._table.mark)

    def _advance(self, part: Part, nbytes: int) -> None:
        """``nbytes`` more of ``part`` are on disk: move the watermark, report, maybe save."""
        with self._cond:
            if self._table.advance(part, nbytes):
                self._publish()
            due = part.complete or time.monotonic() - self._saved > _SAVE_EVERY
        if self._progress is not None:
            with self._report_lock:
                self._progress(nbytes, self.size, self._initial)
        if due:
            self._save()

    def _save(self, *, force: bool = False) -> None:
        """Write the record, never ahead of the bytes on disk; one thread at a time."""
        if not self._save_lock.acquire(blocking=force):
            return
        try:
            with self._lock:
                if self._closed or self._discard:
                    return
                spans = self._table.spans()
                self._saved = time.monotonic()
            write_info(self.path, replace(self.offer, parts=spans))
        finally:
            self._save_lock.release()

    # --- the threads ------------------------------------------------------------------------

    def _run(self, todo: list[Part], *, more: bool = False) -> None:
        """Threads fetching ``todo``, then (``more``) whatever the table says is left."""
        with self._lock:
            self._queue, self._more = list(todo), more
            for part in todo:
                part.busy = True
            count = self.connections if more else min(self.connections, len(todo))
            self._active += count
        for k in range(count):
            thread = threading.Thread(target=self._worker, name=f"kagman-part-{k}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _join(self) -> None:
        for thread in self._threads:
            thread.join()
        self._threads = []

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise self._error

    def _fail(self, err: BaseException) -> None:
        with self._cond:
            if self._error is None:
                self._error = err
            self._stopping = True
            if isinstance(err, (DiskFullError, Restart)):
                self._discard = True  # give the space back; never splice two objects
            self._cond.notify_all()
            responses = list(self._responses)
        for response in responses:
            wake(response)

    def _session(self) -> requests.Session:
        """A kept-alive connection another part left, or a new one."""
        with self._lock:
            if self._sessions:
                return self._sessions.pop()
        return requests_session()

    def _worker(self) -> None:
        session = self._session()
        try:
            while True:
                with self._lock:
                    if self._stopping:
                        return
                    if self._queue:
                        part: Part | None = self._queue.pop(0)
                    else:
                        part = self._table.take(self.connections) if self._more else None
                    if part is None:
                        return
                self._fetch_part(part, session)
        except BaseException as err:
            self._fail(err)
        finally:
            with self._cond:
                self._active -= 1
                self._sessions.append(session)  # closed by stop()
                self._cond.notify_all()

    def _fetch_part(self, part: Part, session: requests.Session) -> None:
        """Fetch ``part``, retrying from its own last byte; raise once retries are spent."""
        with_retries(
            functools.partial(self._fetch, session, part),
            lambda err: None if self._stopping else classify(err),  # stopped: no retry
            give_up=lambda err, n: give_up(
                err, n, host=self.host, what=self.what, have=self.have()
            ),
        )

    def _fetch(self, session: requests.Session, part: Part) -> None:
        """One request for what ``part`` still misses; its body written as it arrives."""
        import requests

        with self._lock:
            at = part.at
            if at >= part.end or self._stopping:
                return
        wanted = (
            f"bytes=-{self.size - at}" if part.end == self.size else f"bytes={at}-{part.end - 1}"
        )
        headers = {"Range": wanted, "If-Range": self.offer.validator}
        response = session.get(self.offer.url, headers=headers, stream=True, timeout=TIMEOUT)
        with self._lock:
            self._responses.add(response)
        try:
            with response:
                declared = judge_range(response, at, part.end - 1, self.offer)
                written = 0
                for chunk in body_chunks(response):
                    if written + len(chunk) > declared:
                        msg = f"the body runs past the {declared:,} bytes it declared"
                        raise BodyOverrun(msg)
                    if self._stopping:
                        return
                    write_at(self._fd, chunk, at + written, self.path)
                    written += len(chunk)
                    self._advance(part, len(chunk))
        finally:
            with self._lock:
                self._responses.discard(response)
        if written < declared or part.at < part.end:
            msg = f"got {written:,} of bytes {at:,}-{part.end - 1:,}"
            raise requests.exceptions.ChunkedEncodingError(msg)


def requests_session() -> requests.Session:
    """A session of its own for one thread: its connection is kept alive from part to part."""
    import requests

    return requests.Session()
