"""The pull flow: a request is answered by the first resolver that can.

::

    base      PullRequest, and the Resolver protocol every way of answering follows
    cached    complete cache entries, no network (pinned versions, offline pulls)
    download  pin "latest", lock, then fetch what the cache lacks
    fetch     download, extract, commit, manifest last

One resolver per way of answering, tried in order (kagglehub's ``registry.py``
does the same): a new environment, such as a notebook platform that mounts
datasets, is a new resolver, and :func:`resolve` stays short.
May import: :mod:`kagman.remote`, :mod:`kagman.cache`, :mod:`kagman.archive`,
:mod:`kagman.credentials`, :mod:`kagman.ui`, :mod:`kagman.errors`, :mod:`kagman.fs`.
"""

from __future__ import annotations

from pathlib import Path

from kagman.errors import KagmanError
from kagman.resolvers.base import PullRequest, Resolver
from kagman.resolvers.cached import CacheResolver
from kagman.resolvers.download import DownloadResolver

__all__ = ["PullRequest", "Resolver", "resolve", "resolvers"]


def resolvers() -> list[Resolver]:
    """The resolvers, in the order they are asked."""
    return [CacheResolver(), DownloadResolver()]


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
                return path
    msg = f"Nothing can answer a pull of {request.ref} with these options."  # pragma: no cover
    raise KagmanError(msg)  # pragma: no cover
