"""The cache resolver: answers from cache entries without any network request.

What an entry can answer follows :func:`kagman.cache.entries.entry_state`: a whole-version
request needs a ``complete`` entry; a file, folder or pattern request is answered by any
entry that holds it (complete, or a subset that holds the file or recorded the selection).
Offline, a subset also answers a folder or pattern with whatever of it is there.
"""

from __future__ import annotations

import logging
from pathlib import Path

from kagman.cache.entries import (
    Holding,
    cached_path,
    holding,
    is_complete,
    touch_hit,
    version_entries,
)
from kagman.cache.paths import dataset_dir, entry_path
from kagman.errors import NotCachedError
from kagman.remote.refs import CompetitionRef, DatasetRef
from kagman.resolvers.base import PullRequest
from kagman.resolvers.selection import Selection

__all__ = ["CacheResolver", "cache_hit", "subset_hit", "target"]

logger = logging.getLogger(__name__)

logger = logging.getLogger(__name__)


class CacheResolver:
    """A pinned version already cached, and every ``offline`` pull.

    "Latest" needs one API call to learn the current version, so it is left to
    :class:`~kagman.resolvers.download.DownloadResolver`, which checks the
    cache again once the version is known.
    """

    name = "cache"

    def available(self) -> bool:
        """Always: the cache needs nothing from the environment."""
        return True

    def is_supported(self, request: PullRequest) -> bool:
        """Everything but ``force`` (which must download)."""
        return not request.force

    def resolve(self, request: PullRequest) -> Path | None:
        """The cached path, ``None`` when not cached (and online).

        Raises
        ------
        NotCachedError
            Offline, and no cached entry holds what was asked for.
        """
        ref = request.ref
        if ref.version is not None and (hit := cache_hit(ref, request.selection)):
            logger.debug("Cache hit for the pinned %s (no request): %s", ref, hit)
            return hit
        if not request.offline:
            return None
        return offline_hit(ref, request.selection)


def target(entry: Path, selection: Selection) -> Path:
    """The path a pull of ``selection`` answers with: the file or folder, else the entry."""
    return entry / selection.name if selection.name is not None else entry


def subset_hit(entry: Path, selection: Selection, held: Holding | None = None) -> Path | None:
    """The path answering ``selection`` from ``entry`` in full, or ``None``; no network."""
    held = held if held is not None else holding(entry)
    if held.state == "incomplete":
        return None
    name = selection.name
    if selection.maybe_single_file and name is not None and held.has(entry, name):
        return entry / name
    if held.state == "complete" and (name is None or (entry / name).is_dir()):
        return target(entry, selection)
    for folder in (True, False):
        if selection.key(folder=folder) in held.selections:
            return target(entry, selection)
    return None


def cache_hit(ref: DatasetRef, selection: Selection) -> Path | None:
    """What the cache answers for a pinned ``ref`` in full, or ``None``; no network.

    A hit is recorded as the entry's last use (one ``utime``, no lock; see
    :func:`kagman.cache.entries.touch`).
    """
    if selection.whole:
        hit = cached_path(ref, None)
    else:
        hit = subset_hit(entry_path(ref), selection)
        if hit is None and selection.maybe_single_file:
            hit = cached_path(ref, str(selection.name))  # also the old files/<N>/<name> layout
    return None if hit is None else touch_hit(entry_path(ref), hit)


def offline_hit(ref: DatasetRef | CompetitionRef, selection: Selection) -> Path:
    """The newest cached answer for ``selection`` (``ref`` pinned or not), with no network.

    A competition's entries are tried latest state first.

    Raises
    ------
    NotCachedError
        No entry holds it; the message says what is cached instead, if anything.
    """
    if isinstance(ref, DatasetRef) and ref.version is not None:
        entries = [entry_path(ref)]
    else:
        entries = version_entries(ref)
    partial: Path | None = None
    for entry in entries:
        if selection.whole:
            if is_complete(entry):
                return entry
            partial = partial or (entry if holding(entry).state == "subset" else None)
            continue
        held = holding(entry)
        if (hit := subset_hit(entry, selection, held)) is not None:
            return hit
        if held.state == "subset" and selection.select(held.files, folder=True):
            logger.warning(
                "Offline: %s holds %d file(s) of %s, and may lack others (it was never pulled "
                "with exactly these options).",
                entry,
                len(selection.select(held.files, folder=True)),
                selection.describe(),
            )
            return target(entry, selection)
    if selection.maybe_single_file and isinstance(ref, DatasetRef):
        for version in _old_file_versions(ref):
            if hit := cached_path(ref.with_version(version), str(selection.name)):
                return hit
    what = str(ref) if selection.whole else f"{selection.describe()} of {ref}"
    extra = (
        f" Only part of {ref.name} is cached ({partial}); pull it whole once online."
        if partial is not None
        else ""
    )
    msg = (
        f"{what} is not in the cache, and offline mode forbids downloading it.{extra} "
        "Retry without --offline (and unset KAGMAN_OFFLINE) to download it."
    )
    raise NotCachedError(msg, ref=str(ref))


def _old_file_versions(ref: DatasetRef) -> list[int]:
    if ref.version is not None:
        return [ref.version]
    folder = dataset_dir(ref) / "files"
    found = [int(p.name) for p in folder.glob("*") if p.name.isdigit()] if folder.is_dir() else []
    return sorted(found, reverse=True)
