"""The download resolver: pin the version, take the dataset's lock, then fetch what is missing.

1. one ``GetDataset`` call pins "latest"; an entry of that version that answers -> return it;
2. take the dataset's lock (another process may have finished meanwhile: check again);
3. fetch: the whole version (:mod:`kagman.resolvers.fetch`: download, extract, commit,
   manifest last), or the selected files (:mod:`kagman.resolvers.subset`).

The Kaggle client, the credentials and the fetch code are imported when a download is
really needed: a cache hit (``kagman pull`` on a cached version) never pays for them.
"""

from __future__ import annotations

from pathlib import Path

from kagman.cache.entries import cache_hit, note_newer_version
from kagman.cache.lock import dataset_lock
from kagman.resolvers.base import PullRequest
from kagman.settings import OFFLINE_ENV, env_flag
from kagman.ui.progress import progress_enabled

__all__ = ["DownloadResolver"]


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
        from kagman.credentials import resolve_credentials
        from kagman.remote import datasets
        from kagman.resolvers.fetch import fetch_dataset
        from kagman.resolvers.subset import dataset_source, pull_subset

        creds = resolve_credentials()
        ref, selection = request.ref, request.selection
        if ref.version is None:
            ref = datasets.get_dataset(ref, creds).ref
            if not request.force and (hit := cache_hit(ref, selection)):
                return hit
        with dataset_lock(ref):
            if request.ref.version is None:
                note_newer_version(ref)  # `kagman ls` marks older cached versions
            hit = None if request.force else cache_hit(ref, selection)
            if hit is not None:
                return hit
            show = progress_enabled(request.progress)
            if selection.whole:
                return fetch_dataset(ref, creds, show=show, force=request.force)
            source = dataset_source(ref, creds)
            return pull_subset(source, selection, force=request.force, show=show)
