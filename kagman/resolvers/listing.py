"""What is in a dataset version (or a competition): its files and sizes.

A version cached whole is listed from its manifest with no network at all (a pinned ref);
otherwise Kaggle's paged ``ListDatasetFiles`` is asked (after one ``GetDataset`` for
"latest"). Offline, the newest cached version is listed; a subset lists only what it holds,
with a warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from kagman.cache.entries import holding, is_complete, version_entries
from kagman.cache.manifest import read_manifest
from kagman.cache.paths import entry_path
from kagman.errors import NotCachedError
from kagman.fs import counted
from kagman.remote.client import RemoteFile
from kagman.remote.refs import CompetitionRef, DatasetRef, Ref

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Listing", "list_competition", "list_ref", "list_version"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Listing:
    """The files of one pinned version (or a competition's data), and where they were listed."""

    ref: Ref  # a pinned dataset version, or a competition
    files: list[RemoteFile]
    source: Literal["cache", "kaggle"]
    partial: bool = False  # offline, from an entry that holds only some of the files

    def frame(self) -> pd.DataFrame:
        """``name`` (str), ``size`` (int64 bytes), ``modified`` (UTC) per file, by name;
        ``attrs``: ``ref`` and ``source``."""
        import pandas as pd

        rows = sorted(self.files, key=lambda f: f.name)
        df = pd.DataFrame(
            {
                "name": pd.Series([f.name for f in rows], dtype="str"),
                "size": pd.Series([f.size for f in rows], dtype="int64"),
                "modified": pd.to_datetime(
                    pd.Series([f.modified for f in rows], dtype=object), utc=True
                ),
            }
        )
        df.attrs.update(ref=str(self.ref), source=self.source)
        return df


def list_ref(ref: Ref, *, offline: bool = False) -> Listing:
    """:func:`list_version` for a dataset, :func:`list_competition` for a competition."""
    if isinstance(ref, CompetitionRef):
        return list_competition(ref, offline=offline)
    return list_version(ref, offline=offline)


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
        return Listing(ref, _from_manifest(entry_path(ref)), "cache")
    from kagman.credentials import resolve_credentials
    from kagman.remote import datasets

    creds = resolve_credentials()
    if ref.version is None:
        ref = datasets.get_dataset(ref, creds).ref
        if is_complete(entry_path(ref)):
            return Listing(ref, _from_manifest(entry_path(ref)), "cache")
    return Listing(ref, datasets.list_files(ref, creds), "kaggle")


def list_competition(ref: CompetitionRef, *, offline: bool = False) -> Listing:
    """List every data file of a competition (``ListDataFiles``; offline: the latest state).

    Raises
    ------
    NotCachedError
        Offline, and no state of the competition's data is cached.
    CredentialsError, CompetitionNotFoundError, RateLimitedError, ServerError, NetworkError
    """
    if offline:
        return _offline(ref)
    from kagman.remote import competitions

    return Listing(ref, competitions.list_data_files(ref), "kaggle")


def _from_manifest(entry: Path) -> list[RemoteFile]:
    manifest = read_manifest(entry)
    return [RemoteFile(str(item[0]), int(item[1])) for item in manifest.get("files") or ()]


def _offline(ref: Ref) -> Listing:
    if isinstance(ref, DatasetRef) and ref.version is not None:
        entries = [entry_path(ref)]
    else:
        entries = version_entries(ref)
    for entry in entries:
        pinned = ref.with_version(int(entry.name)) if isinstance(ref, DatasetRef) else ref
        if is_complete(entry):
            return Listing(pinned, _from_manifest(entry), "cache")
        held = holding(entry)
        if held.state == "subset":
            logger.warning(
                "Offline: only part of %s is cached; listing the %s it holds.",
                pinned,
                counted(len(held.files), "file"),
            )
            files = [RemoteFile(name, size) for name, size in sorted(held.files.items())]
            return Listing(pinned, files, "cache", partial=True)
    msg = (
        f"{ref} is not in the cache, and offline mode forbids asking Kaggle for its files. "
        "Retry without --offline (and unset KAGMAN_OFFLINE)."
    )
    raise NotCachedError(msg, ref=str(ref))
