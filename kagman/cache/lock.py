"""One lock per dataset, across processes: pulls of the same dataset take turns.

Uses ``filelock`` (a lock file plus ``fcntl.flock``), the way huggingface_hub
does; the OS releases the lock if the process dies. In a shared cache the lock
file is group-writable (``filelock``'s ``mode``), so every member of the group
can take it. Reading a complete entry never needs the lock.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from kagman.cache.paths import ref_dir, require_cache_root
from kagman.cache.shared import make_dirs, not_writable, share_mode
from kagman.errors import LockTimeoutError
from kagman.remote.refs import Ref
from kagman.settings import LOCK_TIMEOUT_ENV, env_number

if TYPE_CHECKING:
    from filelock import FileLock

__all__ = ["LOCK_NAME", "dataset_lock", "folder_lock", "is_locked"]

logger = logging.getLogger(__name__)

LOCK_NAME = ".lock"


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
    CacheNotWritableError
        This user may not write the cache.
    CacheAccessError
        The cache root is a file, not a folder.
    """
    with folder_lock(ref_dir(ref), ref.name, timeout=timeout):
        yield


def _file_lock(folder: Path) -> FileLock:
    from filelock import FileLock

    mode = share_mode()
    if mode is None:
        return FileLock(str(folder / LOCK_NAME))
    return FileLock(str(folder / LOCK_NAME), mode=mode.file)


@contextmanager
def folder_lock(folder: Path, what: str, *, timeout: float | None = None) -> Iterator[None]:
    """Hold the lock of one cached item's folder (a dataset's), creating the folder if needed.

    ``what`` names the item in messages. See :func:`dataset_lock`.
    """
    from filelock import Timeout

    require_cache_root()  # a root that is a file: say so, not "the folder disappeared"
    make_dirs(folder)
    wait = timeout if timeout is not None else env_number(LOCK_TIMEOUT_ENV, 3600.0)
    lock = _file_lock(folder)
    started = time.monotonic()
    try:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if wait <= 0:
                msg = f"Another kagman process is working on {what} ({folder / LOCK_NAME} is held)."
                raise LockTimeoutError(msg) from None
            logger.info("Waiting for another kagman process working on %s ...", what)
            try:
                lock.acquire(timeout=max(0.0, wait - (time.monotonic() - started)))
            except Timeout as err:
                msg = (
                    f"Another process has been working on {what} for over {wait:.0f} s. Wait "
                    f"for it, or if no kagman is running, delete {folder / LOCK_NAME} and retry."
                )
                raise LockTimeoutError(msg) from err
    except PermissionError as err:
        raise not_writable(folder / LOCK_NAME, err) from err
    try:
        yield
    finally:
        lock.release()


def is_locked(folder: Path) -> bool:
    """Whether a running process holds ``folder``'s lock (never waits, creates nothing).

    A lock this user cannot open (a read-only cache) counts as not held.
    """
    from filelock import FileLock, Timeout

    if not (folder / LOCK_NAME).is_file():
        return False
    lock = FileLock(str(folder / LOCK_NAME))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    except OSError:
        return False
    with contextlib.suppress(OSError):
        lock.release()
    return False
