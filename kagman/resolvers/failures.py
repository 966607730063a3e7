"""Filesystem failures during a pull, as kagman errors that name the path and the next step.

Anything the operating system refuses while a pull reads or writes the cache (a
read-only mount, a folder without write permission, a folder removed while the pull
runs, a full disk) reaches the caller as a :class:`~kagman.errors.KagmanError`, never as a
bare ``OSError`` with a traceback.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from kagman.cache.paths import cache_dir
from kagman.errors import CacheAccessError, DiskFullError, KagmanError, NetworkError
from kagman.settings import CACHE_ENV

__all__ = ["cache_error"]


def cache_error(err: OSError) -> KagmanError:
    """The kagman error for an ``OSError`` met while using the cache.

    ``requests``' errors are ``OSError`` too; one that got this far untranslated is a
    network failure, and says which host.
    """
    if type(err).__module__.split(".")[0] in ("requests", "urllib3"):
        from kagman.remote.client import unreachable_message

        return NetworkError(unreachable_message(err))
    path = Path(os.fsdecode(err.filename)) if isinstance(err.filename, (str, bytes)) else None
    shown = str(path) if path is not None else f"the cache ({cache_dir()})"
    if isinstance(err.filename2, (str, bytes)):  # a rename: both folders matter
        shown = f"{shown} (moving it to {os.fsdecode(err.filename2)})"
    number = err.errno
    if number in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        msg = f"The disk is full: could not write {shown}. Free some space and pull again."
        return DiskFullError(msg, path=path)
    if number == errno.EROFS:
        msg = (
            f"The cache is on a read-only filesystem: could not write {shown}. Set {CACHE_ENV} "
            "to a writable folder (or remount it read-write) and pull again."
        )
    elif number in (errno.EACCES, errno.EPERM):
        msg = (
            f"Permission denied: {shown}. Make the cache folder {cache_dir()} yours and "
            f"writable, or set {CACHE_ENV} to a folder you can write, and pull again."
        )
    elif number in (errno.ENOENT, errno.ENOTDIR):
        msg = (
            f"{shown} disappeared while kagman was using it (was the cache folder removed "
            "during the pull?). Run the pull again."
        )
    else:
        why = err.strerror or type(err).__name__
        msg = (
            f"Could not use {shown}: {why}. Check the cache folder {cache_dir()}, or set "
            f"{CACHE_ENV} to another folder, and pull again."
        )
    return CacheAccessError(msg, path=path, errno=number)
