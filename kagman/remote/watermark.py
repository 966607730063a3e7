"""The watermark of a download in parts, where threads and forked processes can see it.

The watermark is how many bytes from the start of the partial file are on disk without a
gap. The download (:mod:`kagman.remote.parallel`) moves it, holding its lock;
:meth:`Watermark.wait` waits for it in a thread of this process (on the download's
condition) or in a process forked from it (an extraction worker, which polls a page of
memory the fork shares, and exits if the pull that forked it is gone).
:class:`TrailingMD5` hashes the file as the watermark passes, reading back in order what
the parts just wrote, so the MD5 is ready moments after the last byte.
"""

from __future__ import annotations

import mmap
import os
import struct
import threading
import time
from collections.abc import Callable

from kagman.remote.integrity import RunningMD5

__all__ = ["TrailingMD5", "Watermark"]

_VALUE = struct.Struct("<q")
_READ = 4 << 20
_POLL = 0.002  # seconds between looks at the shared page, in a forked process


class Watermark:
    """Bytes on disk from the start of the file; set under ``cond``'s lock."""

    def __init__(self, cond: threading.Condition) -> None:
        self.cond = cond
        self.value = 0
        self._shared = mmap.mmap(-1, _VALUE.size)  # anonymous and shared: forks see it
        self._pid = os.getpid()

    def set(self, value: int) -> None:
        """Move the watermark (the caller holds ``cond``'s lock) and wake the waiters."""
        self.value = value
        if not self._shared.closed:
            _VALUE.pack_into(self._shared, 0, value)
        self.cond.notify_all()

    def wait(self, n: int, timeout: float | None, check: Callable[[], None]) -> bool:
        """Whether ``n`` bytes are on disk, waiting up to ``timeout`` seconds (None: no
        limit); ``check()`` raises when they never will be (called with the lock held)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if os.getpid() != self._pid:
            return self._wait_forked(n, deadline)
        with self.cond:
            while self.value < n:
                check()
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self.cond.wait(left)
        return True

    def _wait_forked(self, n: int, deadline: float | None) -> bool:
        while _VALUE.unpack_from(self._shared)[0] < n:
            if os.getppid() != self._pid:  # the pull died: nothing will arrive
                os._exit(1)
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(_POLL)
        return True

    def close(self) -> None:
        """Free the shared page (forked processes keep their own mapping)."""
        self._shared.close()


class TrailingMD5(threading.Thread):
    """The MD5 of the file ``fd`` (``size`` bytes), hashed as ``mark`` passes.

    Runs until the whole file is hashed, or ``stopped()``; its failure goes to ``fail``.
    """

    def __init__(
        self,
        fd: int,
        size: int,
        mark: Watermark,
        stopped: Callable[[], bool],
        fail: Callable[[BaseException], None],
    ) -> None:
        super().__init__(name="kagman-md5", daemon=True)
        self.md5 = RunningMD5()
        self._fd, self._size, self._mark = fd, size, mark
        self._stopped, self._fail = stopped, fail

    def run(self) -> None:
        pos, mark = 0, self._mark
        try:
            while pos < self._size:
                with mark.cond:
                    while mark.value <= pos and not self._stopped():
                        mark.cond.wait()
                    if self._stopped():
                        return
                    end = mark.value
                while pos < end:
                    data = os.pread(self._fd, min(_READ, end - pos), pos)
                    if not data:
                        msg = f"the partial file is shorter than {end:,} bytes"
                        raise OSError(msg)
                    self.md5.update(data)
                    pos += len(data)
        except BaseException as err:
            self._fail(err)
