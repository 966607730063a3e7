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

What is on disk from the start of the file, the watermark, grows as parts complete in
order; :meth:`RangedDownload.wait` waits for it (in this process, or in a worker forked
from it, through a shared page). The MD5 follows the watermark in a thread of its own,
reading back what was just written, so the check at the end costs only the last few
parts. The record (``<part>.json``) lists the parts and their progress; it is saved as
parts complete and every second, never ahead of the bytes written, so a killed download
resumes every part where the record says.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import mmap
import os
import struct
import threading
import time
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from kagman.errors import DiskFullError
from kagman.fs import ensure_free_space
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
from kagman.remote.integrity import RunningMD5
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
from kagman.remote.parts import Part, PartTable, plan_parts
from kagman.remote.retry import with_retries

if TYPE_CHECKING:
    import requests

__all__ = ["RangedDownload"]

logger = logging.getLogger(__name__)
_MIB = 1 << 20
_SAVE_EVERY = 1.0  # seconds between saves of the record while parts progress
_HASH_READ = 4 * _MIB
_MARK = struct.Struct("<q")


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
        self._threads: list[threading.Thread] = []
        self._active = 0  # workers running
        self._responses: set[requests.Response] = set()
        self._error: BaseException | None = None
        self._stopping = self._discard = self._closed = self._finished = False
        self._pid = os.getpid()
        self._shared = mmap.mmap(-1, _MARK.size)  # the watermark, for forked workers
        self._md5 = RunningMD5() if offer.md5 is not None else None
        self._hasher: threading.Thread | None = None
        self._initial = self._table.have()
        ensure_free_space(part.parent, self.size - self._initial, what=f"the download of {what}")
        self._fd = os.open(part, os.O_RDWR | os.O_CREAT, 0o644)
        if spans is None:
            os.ftruncate(self._fd, 0)  # nothing of it is ours: zeroes, then a sparse file
        if os.fstat(self._fd).st_size != self.size:
            os.ftruncate(self._fd, self.size)
        self._publish()
        self._saved = 0.0
        self._save()
        if self._initial:
            percent = 100 * self._initial // max(self.size, 1)
            logger.debug("Resuming %s: %d%% of it is on disk", what, percent)

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
        ``connections`` connections (in parts of at least 1 MiB), then read from disk.
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
            todo = table.carve(plan_parts(gaps, min(self.connections, max(1, missing // _MIB))))
            self._publish()
        if todo:
            self._run(todo)
            self._join()
            self._raise_failure()
        return os.pread(self._fd, end - offset, offset)

    def start(self) -> None:
        """Fetch every missing byte, over ``connections`` threads; hash behind the watermark."""
        with self._lock:
            todo = self._table.carve(plan_parts(self._table.gaps(), self.connections))
            self._publish()
        if self._md5 is not None:
            self._hasher = threading.Thread(target=self._hash, name="kagman-md5", daemon=True)
            self._hasher.start()
        self._run(todo)

    def wait(self, n: int, timeout: float | None = None) -> bool:
        """Whether the first ``n`` bytes are on disk, waiting up to ``timeout`` seconds.

        Raises the download's failure, if it failed. In a process forked from this one
        (an extraction worker) it polls the shared watermark, and exits if orphaned.
        """
        if os.getpid() != self._pid:
            return self._wait_forked(n, timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._table.mark < n:
                if self._error is not None:
                    raise self._error
                if not self._active:
                    mark = self._table.mark
                    msg = f"the download of {self.what} stopped at byte {mark:,}"
                    raise RuntimeError(msg)
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def _wait_forked(self, n: int, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while _MARK.unpack_from(self._shared)[0] < n:
            if os.getppid() != self._pid:  # the pull died: nothing will arrive
                os._exit(1)
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.002)
        return True

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
        if table.mark < self.size:  # pragma: no cover - the workers end only when done
            msg = f"the download of {self.what} stopped at byte {table.mark:,}"
            raise RuntimeError(msg)
        offer = self.offer
        os.fsync(self._fd)
        if self._md5 is not None and self._hasher is not None:
            self._hasher.join()
            self._raise_failure()
            got = self._md5.b64digest()
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
        if self._discard:
            discard_partial(self.path)
        elif not self._finished:
            self._save(force=True)
        self._closed = True
        if not stuck:  # a thread still in a system call would write into a reused descriptor
            os.close(self._fd)
            self._shared.close()

    # --- the parts --------------------------------------------------------------------------

    def _publish(self) -> None:
        """Tell forked workers the watermark (under the lock)."""
        with contextlib.suppress(ValueError):  # closed: nobody reads it any more
            _MARK.pack_into(self._shared, 0, self._table.mark)

    def _advance(self, part: Part, nbytes: int) -> None:
        """``nbytes`` more of ``part`` are on disk: move the watermark, report, maybe save."""
        with self._cond:
            if self._table.advance(part, nbytes):
                self._publish()
                self._cond.notify_all()
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

    def _run(self, todo: list[Part]) -> None:
        with self._lock:
            self._queue = list(todo)
            count = min(self.connections, len(todo))
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

    def _worker(self) -> None:
        import requests

        session = requests.Session()
        try:
            while True:
                with self._lock:
                    if self._stopping or not self._queue:
                        return
                    part = self._queue.pop(0)
                with_retries(
                    functools.partial(self._fetch, session, part),
                    classify,
                    give_up=lambda err, n: give_up(
                        err, n, host=self.host, what=self.what, have=self.have()
                    ),
                )
        except BaseException as err:
            self._fail(err)
        finally:
            session.close()
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

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

    def _hash(self) -> None:
        """Hash the file from its start as the watermark passes (reading back, in order)."""
        md5, pos = self._md5, 0
        if md5 is None:
            return
        try:
            while pos < self.size:
                with self._cond:
                    while self._table.mark <= pos and not self._stopping:
                        self._cond.wait()
                    if self._stopping:
                        return
                    mark = self._table.mark
                while pos < mark:
                    data = os.pread(self._fd, min(_HASH_READ, mark - pos), pos)
                    if not data:
                        msg = f"{self.path} is shorter than {mark:,} bytes"
                        raise OSError(msg)
                    md5.update(data)
                    pos += len(data)
        except BaseException as err:
            self._fail(err)
