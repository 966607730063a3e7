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
    answer,
    cache_hit,
    cached_versions,
    holding,
    is_complete,
    pinned_answer,
    target,
    version_entries,
)
from kagman.cache.paths import entry_path
from kagman.cache.selection import Selection
from kagman.errors import NotCachedError
from kagman.remote.refs import CompetitionRef, DatasetRef
from kagman.resolvers.base import PullRequest

__all__ = ["CacheResolver", "offline_hit"]

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
            return hit
        if not request.offline:
            return None
        return offline_hit(ref, request.selection)


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
        if (hit := answer(entry, selection, held)) is not None:
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
    if selection.maybe_single_file and isinstance(ref, DatasetRef):  # files/<N>/<name> too
        versions = [ref.version] if ref.version is not None else cached_versions(ref)
        for version in versions:
            if hit := pinned_answer(ref.with_version(version), selection):
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
