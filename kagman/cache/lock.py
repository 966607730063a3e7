"""One lock per dataset, across processes: pulls of the same dataset take turns.

Uses ``filelock`` (a lock file plus ``fcntl.flock``), the way huggingface_hub
does; the OS releases the lock if the process dies.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from kagman.cache.paths import ref_dir
from kagman.errors import LockTimeoutError
from kagman.remote.refs import Ref
from kagman.settings import LOCK_TIMEOUT_ENV, env_number

__all__ = ["dataset_lock"]

logger = logging.getLogger(__name__)


@contextmanager
def dataset_lock(ref: Ref, *, timeout: float | None = None) -> Iterator[None]:
    """Hold the per-dataset (or per-competition) lock; pulls of the same one wait, others do not.

    Parameters
    ----------
    timeout
        Seconds to wait; default ``KAGMAN_LOCK_TIMEOUT`` (3600).

    Raises
    ------
    LockTimeoutError
        Another process held the lock longer than ``timeout``.
    """
    from filelock import FileLock, Timeout

    folder = ref_dir(ref)
    folder.mkdir(parents=True, exist_ok=True)
    wait = timeout if timeout is not None else env_number(LOCK_TIMEOUT_ENV, 3600.0)
    lock = FileLock(str(folder / ".lock"))
    started = time.monotonic()
    try:
        lock.acquire(timeout=0)
    except Timeout:
        logger.info("Waiting for another kagman process pulling %s ...", ref.name)
        try:
            lock.acquire(timeout=max(0.0, wait - (time.monotonic() - started)))
        except Timeout as err:
            msg = (
                f"Another process has been pulling {ref.name} for over {wait:.0f} s. Wait for it, "
                f"or if no kagman is running, delete {folder / '.lock'} and retry."
            )
            raise LockTimeoutError(msg) from err
    try:
        yield
    finally:
        lock.release()
