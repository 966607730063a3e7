"""What the operating system refuses while kagman uses the cache, as errors that say what to do.

A read-only mount, a folder without write permission, a cache root that is a file, a folder
removed while in use, a full disk: each becomes a :class:`~kagman.errors.KagmanError` (exit
code 6) naming the path and the next step, never a bare ``OSError`` with a traceback. Pulls
(:mod:`kagman.resolvers.failures`) and the cache commands (``rm``, ``prune``) share it.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from kagman.cache.paths import cache_dir, cache_root_problem
from kagman.errors import CacheAccessError, CacheNotWritableError, DiskFullError, KagmanError
from kagman.settings import CACHE_ENV

__all__ = ["cache_os_error"]


def cache_os_error(err: OSError, *, then: str) -> KagmanError:
    """The kagman error for ``err``, met while using the cache.

    Parameters
    ----------
    err
        What the operating system refused.
    then
        What to do once it is fixed, ending the message: ``"pull again"``,
        ``"run the command again"``.
    """
    path = Path(os.fsdecode(err.filename)) if isinstance(err.filename, (str, bytes)) else None
    shown = str(path) if path is not None else f"the cache ({cache_dir()})"
    if isinstance(err.filename2, (str, bytes)):  # a rename: both folders matter
        shown = f"{shown} (moving it to {os.fsdecode(err.filename2)})"
    number = err.errno
    if number in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        msg = f"The disk is full: could not write {shown}. Free some space and {then}."
        return DiskFullError(msg, path=path)
    if number == errno.EROFS:
        msg = (
            f"The cache is on a read-only filesystem: could not write {shown}. Set {CACHE_ENV} "
            f"to a writable folder (or remount it read-write) and {then}."
        )
        return CacheNotWritableError(msg, path=path)
    if number in (errno.EACCES, errno.EPERM):
        msg = (
            f"Permission denied: {shown}. Make the cache folder {cache_dir()} yours and "
            f"writable, or set {CACHE_ENV} to a folder you can write, and {then}."
        )
        return CacheNotWritableError(msg, path=path)
    if number in (errno.ENOENT, errno.ENOTDIR, errno.EEXIST):
        problem = cache_root_problem()
        if problem is not None:  # not a folder that vanished: the root was never one
            return CacheAccessError(problem, path=cache_dir(), errno=number)
    if number in (errno.ENOENT, errno.ENOTDIR):
        msg = (
            f"{shown} disappeared while kagman was using it (was the cache folder removed "
            f"meanwhile?). {then[:1].upper()}{then[1:]}."
        )
    else:
        why = err.strerror or type(err).__name__
        msg = (
            f"Could not use {shown}: {why}. Check the cache folder {cache_dir()}, or set "
            f"{CACHE_ENV} to another folder, and {then}."
        )
    return CacheAccessError(msg, path=path, errno=number)
