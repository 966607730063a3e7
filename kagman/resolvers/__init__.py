"""The pull flow: a request is answered by the first resolver that can.

::

    base             PullRequest, and the Resolver protocol every way of answering follows
    kaggle_notebook  in a Kaggle notebook: the data proxy attaches it, the mount answers
    colab_cache      in Colab: the runtime service mounts it from Colab's cache
    mounted          what the two share: waiting for the mount, files inside it, fallback
    cached           complete cache entries, no network (pinned versions, offline pulls)
    download         pin "latest", lock, then fetch what the cache lacks
    fetch            download, extract, commit, manifest last

One resolver per way of answering, tried in order (kagglehub's ``registry.py``
does the same): a new environment is a new resolver, and :func:`resolve` stays
short. Outside a notebook platform the mount resolvers cost a few environment
lookups and import nothing.
May import: :mod:`kagman.remote`, :mod:`kagman.cache`, :mod:`kagman.archive`,
:mod:`kagman.credentials`, :mod:`kagman.platforms`, :mod:`kagman.ui`, :mod:`kagman.errors`,
:mod:`kagman.settings`, :mod:`kagman.fs`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from kagman.errors import KagmanError
from kagman.resolvers.base import PullRequest, Resolver
from kagman.resolvers.cached import CacheResolver
from kagman.resolvers.colab_cache import ColabCacheResolver
from kagman.resolvers.download import DownloadResolver
from kagman.resolvers.kaggle_notebook import KaggleNotebookResolver

__all__ = ["PullRequest", "Resolver", "active_resolvers", "resolve", "resolvers"]

logger = logging.getLogger(__name__)


def resolvers() -> list[Resolver]:
    """The resolvers, in the order they are asked: the notebook platform's mount, then the
    cache, then the download (kagglehub asks the Kaggle and Colab caches before HTTP too)."""
    return [KaggleNotebookResolver(), ColabCacheResolver(), CacheResolver(), DownloadResolver()]


def active_resolvers() -> tuple[str, ...]:
    """The names of the resolvers that can answer here, in order (for :func:`kagman.environment`).

    >>> "cache" in active_resolvers()
    True
    """
    return tuple(r.name for r in resolvers() if r.available())


def resolve(request: PullRequest) -> Path:
    """Answer ``request`` with the first resolver that supports it and finds a path.

    Returns
    -------
    pathlib.Path
        Absolute path of the dataset folder, or of the single file asked for.

    Raises
    ------
    KagmanError
        Whatever the answering resolver raises (see each resolver).
    """
    for resolver in resolvers():
        if resolver.is_supported(request):
            path = resolver.resolve(request)
            if path is not None:
                # A cache hit is silent, but for this (kagman -v); a download says more.
                logger.debug("The %s resolver answered %s: %s", resolver.name, request.ref, path)
                return path
    msg = f"Nothing can answer a pull of {request.ref} with these options."  # pragma: no cover
    raise KagmanError(msg)  # pragma: no cover
