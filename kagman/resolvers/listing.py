"""What is in a dataset version: its files and sizes, from the cache when it holds them all.

A version cached whole is listed from its manifest with no network at all (a pinned ref);
otherwise Kaggle's paged ``ListDatasetFiles`` is asked (after one ``GetDataset`` for
"latest"). Offline, the newest cached version is listed; a subset lists only what it holds,
with a warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from kagman.cache.entries import holding, is_complete, version_entries
from kagman.cache.manifest import read_manifest
from kagman.cache.paths import entry_path
from kagman.errors import NotCachedError
from kagman.remote.client import RemoteFile
from kagman.remote.refs import DatasetRef

__all__ = ["Listing", "list_version"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Listing:
    """The files of one pinned version, and where the list came from."""

    ref: DatasetRef  # pinned
    files: list[RemoteFile]
    source: Literal["cache", "kaggle"]


def list_version(ref: DatasetRef, *, offline: bool = False) -> Listing:
    """List every file of ``ref``'s version (latest when not pinned).

    Raises
    ------
    NotCachedError
        Offline, and no version of the dataset is cached.
    CredentialsError, DatasetNotFoundError, RateLimitedError, ServerError, NetworkError
        From Kaggle, online.
    """
    if offline:
        return _offline(ref)
    if ref.version is not None and is_complete(entry_path(ref)):
        return Listing(ref, _from_manifest(ref), "cache")
    from kagman.credentials import resolve_credentials
    from kagman.remote import datasets

    creds = resolve_credentials()
    if ref.version is None:
        ref = datasets.get_dataset(ref, creds).ref
        if is_complete(entry_path(ref)):
            return Listing(ref, _from_manifest(ref), "cache")
    return Listing(ref, datasets.list_files(ref, creds), "kaggle")


def _from_manifest(ref: DatasetRef) -> list[RemoteFile]:
    manifest = read_manifest(entry_path(ref))
    return [RemoteFile(str(item[0]), int(item[1])) for item in manifest.get("files") or ()]


def _offline(ref: DatasetRef) -> Listing:
    entries = [entry_path(ref)] if ref.version is not None else version_entries(ref)
    for entry in entries:
        pinned = ref.with_version(int(entry.name))
        if is_complete(entry):
            return Listing(pinned, _from_manifest(pinned), "cache")
        held = holding(entry)
        if held.state == "subset":
            logger.warning(
                "Offline: only part of %s is cached; listing the %d file(s) it holds.",
                pinned,
                len(held.files),
            )
            files = [RemoteFile(name, size) for name, size in sorted(held.files.items())]
            return Listing(pinned, files, "cache")
    msg = (
        f"{ref} is not in the cache, and offline mode forbids asking Kaggle for its files. "
        "Retry without --offline (and unset KAGMAN_OFFLINE)."
    )
    raise NotCachedError(msg, ref=str(ref))
