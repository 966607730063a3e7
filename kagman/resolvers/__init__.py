"""The pull flow: a request is answered by the first resolver that can.

::

    base             PullRequest, and the Resolver protocol every way of answering follows
                     (which files a pull wants is kagman.cache.selection: manifests record it)
    kaggle_notebook  in a Kaggle notebook: the data proxy attaches it, the mount answers
    colab_cache      in Colab: the runtime service mounts it from Colab's cache
    mounted          what the two share: waiting for the mount, files inside it, fallback
    cached           cache entries, no network (pinned versions, offline pulls)
    download         pin "latest", lock, then fetch what the cache lacks
    fetch            a whole archive: download, extract, commit, manifest last
    commit           swap a finished entry in; put back one a killed --force moved aside
    subset           the selected files, one by one in parallel, into the version's entry
    competition      competitions: one request says whether the cached state is current
    listing          a version's files, from the cache or ListDatasetFiles
    stale            the network failed on "latest": the newest cached answer, with a warning
    failures         filesystem errors as kagman errors naming the path

One resolver per way of answering, tried in order, one list per kind of resource
(kagglehub's ``registry.py`` does the same): a new environment is a new resolver, and
:func:`resolve` stays short. Outside a notebook platform the mount resolvers cost a few
environment lookups and import nothing. A resolver that fails because the network did
passes the failure on (``PullRequest.failure``), so a later resolver (``stale``) may
still answer; if none does, the failure is raised.
May import: :mod:`kagman.remote`, :mod:`kagman.cache`, :mod:`kagman.archive`,
:mod:`kagman.credentials`, :mod:`kagman.platforms`, :mod:`kagman.ui`, :mod:`kagman.errors`,
:mod:`kagman.settings`, :mod:`kagman.fs`.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

from kagman.errors import KagmanError
from kagman.resolvers.base import CompetitionRequest, PullRequest, Resolver
from kagman.resolvers.cached import CacheResolver
from kagman.resolvers.colab_cache import ColabCacheResolver
from kagman.resolvers.competition import CompetitionCacheResolver, CompetitionDownloadResolver
from kagman.resolvers.download import DownloadResolver
from kagman.resolvers.kaggle_notebook import KaggleNotebookResolver
from kagman.resolvers.stale import StaleCacheResolver, falls_back
from kagman.ui.interrupt import Interrupted, forget_interrupts, interrupted

__all__ = [
    "CompetitionRequest",
    "PullRequest",
    "Resolver",
    "active_resolvers",
    "competition_resolvers",
    "resolve",
    "resolvers",
]

logger = logging.getLogger(__name__)


def resolvers() -> list[Resolver[PullRequest]]:
    """The dataset resolvers, in the order they are asked: the notebook platform's mount,
    then the cache, then the download (kagglehub asks the Kaggle and Colab caches before
    HTTP too), and last the cache again when the network failed (``stale``)."""
    return [
        KaggleNotebookResolver(),
        ColabCacheResolver(),
        CacheResolver(),
        DownloadResolver(),
        StaleCacheResolver(),
    ]


def active_resolvers() -> tuple[str, ...]:
    """The names of the resolvers that can answer here, in order (for :func:`kagman.environment`).

    >>> "cache" in active_resolvers()
    True
    """
    return tuple(r.name for r in resolvers() if r.available())


def competition_resolvers() -> list[Resolver[CompetitionRequest]]:
    """The competition resolvers, in the order they are asked: a Kaggle notebook's mount
    (kagglehub's ``CompetitionKaggleCacheResolver``; Colab's cache holds no competitions),
    then the cache and the download."""
    return [KaggleNotebookResolver(), CompetitionCacheResolver(), CompetitionDownloadResolver()]


def resolve(request: PullRequest | CompetitionRequest) -> Path:
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
    forget_interrupts()  # what an earlier, caught interrupt kept is no news for this one
    try:
        path = _first_answer(request)
    except OSError as err:
        if isinstance(err, KagmanError):
            raise
        from kagman.resolvers.failures import cache_error

        raise cache_error(err) from err
    except KeyboardInterrupt as err:
        if isinstance(err, Interrupted):
            raise
        # the clean-up is done and logged; a notebook shows one line, not kagman's frames
        what = f"The pull of {request.ref}"
        raise interrupted(what) from None
    logger.debug("Pulled %s in %.2f s: %s", request.ref, time.perf_counter() - started, path)
    return path


def _first_answer(request: PullRequest | CompetitionRequest) -> Path:
    chain: list[Resolver[Any]] = (
        competition_resolvers() if isinstance(request, CompetitionRequest) else resolvers()
    )
    for resolver in chain:
        if not resolver.is_supported(request):
            continue
        try:
            path = resolver.resolve(request)
        except KagmanError as err:
            if not isinstance(request, PullRequest) or request.failure is not None:
                raise
            if not falls_back(err):
                raise
            request = dataclasses.replace(request, failure=err)
            continue
        if path is not None:
            # A cache hit is silent, but for this (kagman -v); a download says more.
            logger.debug("The %s resolver answered %s: %s", resolver.name, request.ref, path)
            return path
    if isinstance(request, PullRequest) and request.failure is not None:
        raise request.failure
    msg = f"Nothing can answer a pull of {request.ref} with these options."  # pragma: no cover
    raise KagmanError(msg)  # pragma: no cover
