"""Filesystem failures during a pull, as kagman errors that name the path and the next step.

Anything the operating system refuses while a pull reads or writes the cache (a
read-only mount, a folder without write permission, a folder removed while the pull
runs, a full disk) reaches the caller as a :class:`~kagman.errors.KagmanError`, never as a
bare ``OSError`` with a traceback.
"""

from __future__ import annotations

from kagman.cache.failures import cache_os_error
from kagman.errors import KagmanError, NetworkError

__all__ = ["cache_error"]


def cache_error(err: OSError) -> KagmanError:
    """The kagman error for an ``OSError`` met while using the cache.

    ``requests``' errors are ``OSError`` too; one that got this far untranslated is a
    network failure, and says which host.
    """
    if type(err).__module__.split(".")[0] in ("requests", "urllib3"):
        from kagman.remote.client import unreachable_message

        return NetworkError(unreachable_message(err))
    return cache_os_error(err, then="pull again")
