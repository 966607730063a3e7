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
    cache_hit,
    holding,
    newest_answer,
    target,
    touch_hit,
    version_entries,
)
from kagman.cache.paths import entry_path, require_cache_root
from kagman.cache.selection import Selection
from kagman.errors import (
    CompetitionNotFoundError,
    DatasetNotFoundError,
    NotCachedError,
    NotFoundError,
)
from kagman.fs import counted
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
            logger.debug("Cache hit for the pinned %s (no request): %s", ref, hit)
            return hit
        if not request.offline:
            return None
        return offline_hit(ref, request.selection)


def offline_hit(ref: DatasetRef | CompetitionRef, selection: Selection) -> Path:
    """The newest cached answer for ``selection`` (``ref`` pinned or not), with no network.

    Any entry that answers in full wins, newest version (a competition's latest state) first;
    then, for a folder or patterns, the newest subset holding some of it (with a warning).
    The hit is recorded as the entry's last use.

    Raises
    ------
    NotCachedError
        No entry holds it; the message says what is cached instead, if anything.
    """
    found = newest_answer(ref, selection)
    if found is not None:
        return touch_hit(found.entry, found.path)
    if isinstance(ref, DatasetRef) and ref.version is not None:
        entries = [entry_path(ref)]
    else:
        entries = version_entries(ref)
    partial: Path | None = None
    if selection.whole:
        partial = next((e for e in entries if holding(e).state == "subset"), None)
        entries = []  # the whole needs a complete entry: a subset never answers it
    for entry in entries:
        held = holding(entry)
        some = selection.select(held.files) if held.state == "subset" else []
        if some:
            logger.warning(
                "Offline: %s holds %s of %s, and may lack others (it was never pulled "
                "with exactly these options).",
                entry,
                counted(len(some), "file"),
                selection.describe(),
            )
            return touch_hit(entry, target(entry, selection))
    if entries and selection.file is not None and holding(entries[0]).state == "complete":
        raise _no_such_file(ref, entries[0], selection.file)
    require_cache_root()  # a root that is a file: say so, not "not in the cache"
    extra = (
        f" Only part of {ref.name} is cached ({partial}); pull it whole once online."
        if partial is not None
        else ""
    )

    def said(python: bool) -> str:
        return (
            f"{_what(ref, selection, python)} is not in the cache, and offline mode forbids "
            f"downloading it.{extra} Retry without {'offline=True' if python else '--offline'} "
            "(and unset KAGMAN_OFFLINE) to download it."
        )

    err = NotCachedError(said(True), ref=str(ref))
    err.cli_message = said(False)
    raise err


def _no_such_file(ref: DatasetRef | CompetitionRef, entry: Path, file: str) -> NotFoundError:
    """Offline, the newest cached version is complete and ``file`` is not in it: the error a
    pull online gives (not "not in the cache", which would say a download could help)."""
    if isinstance(ref, CompetitionRef):
        where, files = f"the competition {ref.slug}'s cached data", f"kagman files -c {ref.slug}"
    else:
        pinned = ref.with_version(int(entry.name))
        where, files = str(pinned), f"kagman files {pinned}"
    newer = (
        ""
        if isinstance(ref, DatasetRef) and ref.version is not None
        else " (offline, kagman cannot see whether Kaggle now has a newer version with it)"
    )
    msg = (
        f"{where} has no file {file!r}: it is cached whole and its manifest lists every "
        f"file{newer}. See them with `{files}` (names are case-sensitive and may include "
        "folders)."
    )
    cls = CompetitionNotFoundError if isinstance(ref, CompetitionRef) else DatasetNotFoundError
    return cls(msg, ref=ref.slug if isinstance(ref, CompetitionRef) else ref.name, status=404)


def _what(ref: DatasetRef | CompetitionRef, selection: Selection, python: bool) -> str:
    """What was asked for, in a message: the ref, a file of it (positional in ``kagman load``,
    so named without its flag), or the selection's options (as arguments in Python)."""
    if selection.whole:
        return str(ref)
    if selection.file is not None and not selection.patterns:
        return f"{selection.file!r} of {ref}"
    return f"{selection.describe(python=python)} of {ref}"
