"""The cache resolver: answers from complete cache entries without any network request."""

from __future__ import annotations

import logging
from pathlib import Path

from kagman.cache.entries import cached_path, latest_cached_version
from kagman.errors import NotCachedError
from kagman.resolvers.base import PullRequest

__all__ = ["CacheResolver"]

logger = logging.getLogger(__name__)


class CacheResolver:
    """A pinned version already cached, and every ``offline`` pull.

    "Latest" needs one API call to learn the current version, so it is left to
    :class:`~kagman.resolvers.download.DownloadResolver`, which checks the
    cache again once the version is known.
    """

    name = "cache"

    def is_supported(self, request: PullRequest) -> bool:
        """Everything but ``force`` (which must download)."""
        return not request.force

    def resolve(self, request: PullRequest) -> Path | None:
        """The cached path, ``None`` when not cached (and online).

        Raises
        ------
        NotCachedError
            Offline, and no complete cached entry holds what was asked for.
        """
        ref = request.ref
        if ref.version is not None and (hit := cached_path(ref, request.file)):
            logger.debug("Cache hit for the pinned %s (no request): %s", ref, hit)
            return hit
        if not request.offline:
            return None
        pinned = ref if ref.version is not None else latest_cached_version(ref)
        hit = cached_path(pinned, request.file)
        if hit is None:
            what = f"{request.file!r} of {pinned}" if request.file else str(pinned)
            msg = (
                f"{what} is not in the cache, and offline mode forbids downloading it. "
                "Retry without --offline (and unset KAGMAN_OFFLINE) to download it."
            )
            raise NotCachedError(msg, ref=str(pinned))
        if ref.version is None:
            logger.debug("Offline: version %s is the newest cached: %s", pinned.version, hit)
        return hit
