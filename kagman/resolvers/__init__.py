"""The pull flow: a request is answered by the first resolver that can.

::

    base      PullRequest, and the Resolver protocol every way of answering follows
    cached    complete cache entries, no network (pinned versions, offline pulls)
    download  pin "latest", lock, then fetch what the cache lacks
    fetch     download, extract, commit, manifest last
    commit    swap a finished entry in; put back one a killed --force moved aside
    stale     the network failed on "latest": the newest cached version, with a warning
    failures  filesystem errors as kagman errors naming the path

One resolver per way of answering, tried in order (kagglehub's ``registry.py``
does the same): a new environment, such as a notebook platform that mounts
datasets, is a new resolver, and :func:`resolve` stays short. A resolver that fails
because the network did passes the failure on (``PullRequest.failure``), so a later
resolver (``stale``) may still answer; if none does, the failure is raised.
May import: :mod:`kagman.remote`, :mod:`kagman.cache`, :mod:`kagman.archive`,
:mod:`kagman.credentials`, :mod:`kagman.ui`, :mod:`kagman.errors`, :mod:`kagman.fs`.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

from kagman.errors import KagmanError
from kagman.resolvers.base import PullRequest, Resolver
from kagman.resolvers.cached import CacheResolver
from kagman.resolvers.download import DownloadResolver
from kagman.resolvers.stale import StaleCacheResolver, falls_back

__all__ = ["PullRequest", "Resolver", "resolve", "resolvers"]

logger = logging.getLogger(__name__)


def resolvers() -> list[Resolver]:
    """The resolvers, in the order they are asked."""
    return [CacheResolver(), DownloadResolver(), StaleCacheResolver()]


def resolve(request: PullRequest) -> Path:
    """Answer ``request`` with the first resolver that supports it and finds a path.

    Returns
    -------
    pathlib.Path
        Absolute path of the dataset folder, or of the single file asked for.

    Raises
    ------
    KagmanError
        Whatever the answering resolver raises (see each resolver); a filesystem
        error becomes :class:`~kagman.errors.CacheAccessError` or ``DiskFullError``.
    """
    started = time.perf_counter()
    try:
        path = _first_answer(request)
    except OSError as err:
        if isinstance(err, KagmanError):
            raise
        from kagman.resolvers.failures import cache_error

        raise cache_error(err) from err
    logger.debug("Pulled %s in %.2f s: %s", request.ref, time.perf_counter() - started, path)
    return path


def _first_answer(request: PullRequest) -> Path:
    for resolver in resolvers():
        if not resolver.is_supported(request):
            continue
        try:
            path = resolver.resolve(request)
        except KagmanError as err:
            if request.failure is not None or not falls_back(err):
                raise
            request = dataclasses.replace(request, failure=err)
            continue
        if path is not None:
            return path
    if request.failure is not None:
        raise request.failure
    msg = f"Nothing can answer a pull of {request.ref} with these options."  # pragma: no cover
    raise KagmanError(msg)  # pragma: no cover
