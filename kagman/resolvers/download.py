"""The download resolver: pin the version, take the dataset's lock, then fetch what is missing.

1. one ``GetDataset`` call pins "latest"; an entry of that version that answers -> return it;
2. take the dataset's lock (another process may have finished meanwhile: check again,
   after putting back an entry a killed ``--force`` had moved aside);
3. fetch: the whole version (:mod:`kagman.resolvers.fetch`: download, extract, commit,
   manifest last), or the selected files (:mod:`kagman.resolvers.subset`).

The Kaggle client, the credentials and the fetch code are imported when a download is
really needed: a cache hit (``kagman pull`` on a cached version) never pays for them.
Each step is logged at DEBUG (``kagman -v``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from kagman.cache.entries import cache_hit, note_newer_version
from kagman.cache.lock import dataset_lock
from kagman.resolvers.base import PullRequest
from kagman.settings import OFFLINE_ENV, env_flag
from kagman.ui.progress import progress_enabled

if TYPE_CHECKING:
    from kagman.credentials import Credentials

__all__ = ["DownloadResolver"]

logger = logging.getLogger(__name__)


def _credentials() -> Credentials:
    from kagman.credentials import mask, resolve_credentials

    creds = resolve_credentials()
    if logger.isEnabledFor(logging.DEBUG):
        secret = f"token {mask(creds.token)}" if creds.token else f"key {mask(creds.key or '')}"
        who = f"user {creds.username}, " if creds.username else ""
        logger.debug("Credentials from %s (%s%s)", creds.source, who, secret)
    return creds


class DownloadResolver:
    """Downloads what the cache does not have (never used offline)."""

    name = "download"

    def available(self) -> bool:
        """Unless ``KAGMAN_OFFLINE`` is on."""
        return not env_flag(OFFLINE_ENV)

    def is_supported(self, request: PullRequest) -> bool:
        """Any pull that may use the network."""
        return not request.offline

    def resolve(self, request: PullRequest) -> Path:
        """Pin the version, then return the cached entry or download it.

        Raises
        ------
        CredentialsError, DatasetNotFoundError, TermsNotAcceptedError, RateLimitedError,
        ServerError, NetworkError, LockTimeoutError, DiskFullError, ArchiveError,
        EmptySelectionError
        """
        from kagman.remote import datasets
        from kagman.resolvers.commit import restore_replaced
        from kagman.resolvers.fetch import fetch_dataset
        from kagman.resolvers.subset import dataset_source, pull_subset

        ref, selection = request.ref, request.selection
        creds = None
        if ref.version is None:
            creds = _credentials()
            ref = datasets.get_dataset(ref, creds).ref
            logger.debug("%s: version %s is current (GetDataset)", ref.name, ref.version)
            if not request.force and (hit := cache_hit(ref, selection)):
                logger.debug("Cache hit: %s", hit)
                return hit
        else:
            logger.debug("%s: version %s, pinned by the request", ref.name, ref.version)
        with dataset_lock(ref):
            restore_replaced(ref)
            if request.ref.version is None:
                note_newer_version(ref)  # `kagman ls` marks older cached versions
            hit = None if request.force else cache_hit(ref, selection)
            if hit is not None:
                logger.debug("Cache hit: %s", hit)
                return hit
            why = "--force" if request.force else "not cached"
            logger.debug("Cache miss for %s (%s): fetching", ref, why)
            creds = creds if creds is not None else _credentials()
            show = progress_enabled(request.progress)
            if selection.whole:
                return fetch_dataset(ref, creds, show=show, force=request.force)
            source = dataset_source(ref, creds)
            return pull_subset(source, selection, force=request.force, show=show)
